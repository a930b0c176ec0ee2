package qemu

import (
	"regexp"
	"strings"
	"sync"
	"time"
)

// Console conventions the rig understands. slkit's pre-launch /init and
// launch command print them; any guest may.
//
//	slkit: phase=<name> t=<seconds>s     entering a phase (guest uptime or command time)
//	slkit: result=ok                     the guest's job succeeded
//	slkit: result=fail reason=<text>     it failed, and why
var (
	phaseRe  = regexp.MustCompile(`slkit: phase=([A-Za-z0-9_.-]+)`)
	resultRe = regexp.MustCompile(`slkit: result=(ok|fail)(?: reason=(.*))?$`)
)

// Phase is one phase of a boot, timed on the host from QEMU's start.
type Phase struct {
	Name  string        `json:"name"`
	Start time.Duration `json:"start_ns"`
}

// Result is what the guest reported, if anything.
type Result struct {
	Reported bool   `json:"reported"`
	OK       bool   `json:"ok"`
	Reason   string `json:"reason,omitempty"`
}

// Tracker follows the console and records phases and the result. The
// firmware phase starts at 0, "kernel" at the kernel's first line, then
// every slkit phase marker.
type Tracker struct {
	mu     sync.Mutex
	start  time.Time
	phases []Phase
	result Result
	notify func(Phase)
}

// NewTracker starts tracking at start; notify (optional) is called for
// each new phase.
func NewTracker(start time.Time, notify func(Phase)) *Tracker {
	t := &Tracker{start: start, notify: notify}
	t.enter("firmware", start)
	return t
}

func (t *Tracker) enter(name string, at time.Time) {
	p := Phase{Name: name, Start: at.Sub(t.start)}
	t.phases = append(t.phases, p)
	if t.notify != nil {
		t.notify(p)
	}
}

// Line feeds one console line.
func (t *Tracker) Line(l string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.phases[len(t.phases)-1].Name
	switch {
	case cur == "firmware" && (strings.HasPrefix(l, "[") || strings.Contains(l, "Linux version")):
		t.enter("kernel", at)
	}
	if m := phaseRe.FindStringSubmatch(l); m != nil && m[1] != t.phases[len(t.phases)-1].Name {
		t.enter(m[1], at)
	}
	if m := resultRe.FindStringSubmatch(l); m != nil {
		t.result = Result{Reported: true, OK: m[1] == "ok", Reason: strings.TrimSpace(m[2])}
	}
}

// Phases returns the phases so far.
func (t *Tracker) Phases() []Phase {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Phase(nil), t.phases...)
}

// Result returns what the guest reported.
func (t *Tracker) Result() Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.result
}
