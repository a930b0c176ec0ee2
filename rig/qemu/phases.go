package qemu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slkit/slkit/internal/errkind"
)

// Console conventions the rig understands. slkit's pre-launch /init
// (initramfs/pid1) and launch command print them; any guest may.
//
//	slkit: phase=<name> t=<seconds>s     entering a phase (for phase=init: the guest's uptime)
//	slkit: result=ok                     the guest's job succeeded
//	slkit: result=fail reason=<text>     it failed, and why
//
// The guest reports its result only this way (no isa-debug-exit): the
// console is what a person reads too, and the last result line wins (a
// pre-launch environment may report before it kexecs into a target that
// reports again).
var (
	phaseRe  = regexp.MustCompile(`slkit: phase=([A-Za-z0-9_.-]+)(?: t=([0-9]+(?:\.[0-9]+)?)s)?`)
	resultRe = regexp.MustCompile(`slkit: result=(ok|fail)(?: reason=(.*))?$`)
	printkRe = regexp.MustCompile(`^\[\s*([0-9]+\.[0-9]+)\]`)
)

// Phase is one phase of a boot, timed on the host from QEMU's start.
type Phase struct {
	Name  string        `json:"name"`
	Start time.Duration `json:"start_ns"`
	// Estimated is set when Start was derived from the guest's uptime
	// rather than observed (the kernel phase: a quiet kernel prints
	// nothing until init, so its start is the time of the first
	// uptime-stamped line minus that uptime).
	Estimated bool `json:"estimated,omitempty"`
}

// Result is what the guest reported, if anything.
type Result struct {
	Reported bool   `json:"reported"`
	OK       bool   `json:"ok"`
	Reason   string `json:"reason,omitempty"`
}

// Tracker follows the console and records phases and the result:
// "firmware" from QEMU's start, "kernel" from the kernel's start (the
// first printk line, "Linux version", or estimated from the uptime that
// the first printk timestamp or `slkit: phase=init t=…` carries), then
// every slkit phase marker.
type Tracker struct {
	mu     sync.Mutex
	start  time.Time
	phases []Phase
	result Result
	notify func(Phase)
}

// NewTracker starts tracking at start; notify (optional) is called for
// each new phase, when it becomes known.
func NewTracker(start time.Time, notify func(Phase)) *Tracker {
	t := &Tracker{start: start, notify: notify}
	t.enter(Phase{Name: "firmware"})
	return t
}

func (t *Tracker) enter(p Phase) {
	if last := len(t.phases) - 1; last >= 0 && p.Start < t.phases[last].Start {
		p.Start = t.phases[last].Start
	}
	t.phases = append(t.phases, p)
	if t.notify != nil {
		t.notify(p)
	}
}

func (t *Tracker) current() string { return t.phases[len(t.phases)-1].Name }

// Line feeds one console line that arrived at time at.
func (t *Tracker) Line(l string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	since := at.Sub(t.start)
	pm := phaseRe.FindStringSubmatch(l)
	if t.current() == "firmware" {
		uptime := ""
		if m := printkRe.FindStringSubmatch(l); m != nil {
			uptime = m[1]
		} else if pm != nil && pm[1] == "init" {
			uptime = pm[2]
		}
		if s, err := strconv.ParseFloat(uptime, 64); err == nil {
			t.enter(Phase{Name: "kernel", Start: since - time.Duration(s*float64(time.Second)), Estimated: true})
		} else if strings.Contains(l, "Linux version") {
			t.enter(Phase{Name: "kernel", Start: since})
		}
	}
	if pm != nil && pm[1] != t.current() {
		t.enter(Phase{Name: pm[1], Start: since})
	}
	if r, ok := ParseResult(l); ok {
		t.result = r
	}
}

// ParseResult reads a `slkit: result=` console line; ok is false for any
// other line.
func ParseResult(line string) (r Result, ok bool) {
	m := resultRe.FindStringSubmatch(line)
	if m == nil {
		return Result{}, false
	}
	return Result{Reported: true, OK: m[1] == "ok", Reason: strings.TrimSpace(m[2])}, true
}

// Errors of a guest run (Result.Err).
var (
	// ErrGuestFailed is a guest that reported failure.
	ErrGuestFailed = errkind.New(errkind.Verify, "guest reported failure")
	// ErrNoResult is a guest that stopped without reporting a result (it
	// crashed, hung until a timeout, or was not a slkit image).
	ErrNoResult = errkind.New(errkind.IO, "guest stopped without reporting a result")
)

// Err interprets a finished run: the error the VM ended with (a timeout,
// a QEMU failure), else ErrNoResult when the guest reported nothing, else
// ErrGuestFailed with the guest's reason, else nil.
func (r Result) Err(vmErr error) error {
	switch {
	case vmErr != nil:
		return vmErr
	case !r.Reported:
		return ErrNoResult
	case !r.OK:
		return fmt.Errorf("%w: %s", ErrGuestFailed, r.Reason)
	}
	return nil
}

// Phases returns the phases so far.
func (t *Tracker) Phases() []Phase {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Phase(nil), t.phases...)
}

// Result returns what the guest reported last.
func (t *Tracker) Result() Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.result
}

// Line is the phase as `slkit-rig run` shows it on stderr: its start in
// seconds and its name, saying when the start is estimated.
func (p Phase) Line() string {
	note := ""
	if p.Estimated {
		note = " (start estimated from the guest's uptime)"
	}
	return fmt.Sprintf("[%6.1fs] phase %s%s\n", p.Start.Seconds(), p.Name, note)
}
