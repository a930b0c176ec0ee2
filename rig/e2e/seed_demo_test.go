package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/rig/rigtest"
	"github.com/slkit/slkit/tpm"
)

// EnvDemoOut makes TestSeedFlowOnOVMF the demo (`make demo`): it prints
// what happens as it happens, a timeline at the end, and writes
// summary.json into the directory it names.
const EnvDemoOut = "SLKIT_DEMO_OUT"

// seedDemo narrates the seed flow and collects its summary.
type seedDemo struct {
	t     testing.TB
	out   string
	start time.Time
	last  time.Time
	sum   demoSummary
}

// demoSummary is summary.json.
type demoSummary struct {
	Launches []demoLaunch  `json:"launches"`
	Refusals []demoRefusal `json:"refusals"`
	Phases   []demoPhase   `json:"phases"`
}

type demoLaunch struct {
	Name string `json:"name"`
	PCRs struct {
		Predicted map[string]map[string]string `json:"predicted"`
		Read      map[string]map[string]string `json:"read"`
	} `json:"pcrs"`
	Fingerprint string   `json:"unsealed_fingerprint"`
	Committed   []string `json:"committed"`
}

type demoRefusal struct {
	What    string `json:"what"`
	Message string `json:"message"`
}

type demoPhase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

func newSeedDemo(t testing.TB) *seedDemo {
	now := time.Now()
	return &seedDemo{t: t, out: os.Getenv(EnvDemoOut), start: now, last: now}
}

// narrate says what happens next: in the test log, and on stdout in the
// demo.
func (d *seedDemo) narrate(format string, a ...any) {
	d.t.Helper()
	d.t.Logf(format, a...)
	if d.out != "" {
		fmt.Printf("[%6.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, a...))
	}
}

// liveMarks are the guest's console lines the demo shows as they come.
var liveMarks = []string{"slkit: phase=init", "slkit: phase=drtm", "slkit: phase=reboot", "slkit: efi:", "slkit: job ",
	"DRTM happened", "left the dynamic launch", "refused, as it must be", "slkit: result="}

// live is a rigtest watch that, in the demo, prints the guest's milestones
// as they arrive (nil outside the demo).
func (d *seedDemo) live() []rigtest.BootOption {
	if d.out == "" {
		return nil
	}
	return []rigtest.BootOption{rigtest.WithWatch(func(line string, at time.Duration, _ func()) {
		for _, m := range liveMarks {
			if strings.Contains(line, m) || rigtest.IsFingerprint(line) {
				fmt.Printf("[%6.1fs]   guest: %s\n", time.Since(d.start).Seconds(), strings.TrimSpace(line))
				return
			}
		}
	})}
}

// phase closes a phase of the demo's own (host) work that ended now.
func (d *seedDemo) phase(name string) {
	now := time.Now()
	d.sum.Phases = append(d.sum.Phases, demoPhase{name, now.Sub(d.last).Seconds()})
	d.last = now
}

var appliedRe = regexp.MustCompile(`slkit: efi: +\d+ \S+ +applied +(\S+)`)

// run adds a QEMU run's phases, one per boot step: the firmware's boot or
// the kexec to an environment's init, then the environment (a pre-launch
// environment's commit, measure and dynamic launch; a target's checks and
// its job).
func (d *seedDemo) run(b *rigtest.Boot, name string) {
	var prev time.Duration
	n := 0
	envs := environments(b)
	for i, e := range envs {
		if len(e.times) == 0 {
			continue
		}
		how := "firmware boot (OVMF, measured boot), kernel"
		if i > 0 && envs[i-1].has("slkit: phase=kexec") {
			how = "kexec, kernel"
		}
		d.sum.Phases = append(d.sum.Phases, demoPhase{fmt.Sprintf("%s: %s", name, how), (e.times[0] - prev).Seconds()})
		// An environment ends with its last slkit line (the kexec, the
		// reboot, the power-off); what follows is the next one's boot.
		end := e.times[0]
		for k, l := range e.lines {
			if strings.Contains(l, "slkit: ") && k < len(e.times) {
				end = e.times[k]
			}
		}
		if i == len(envs)-1 {
			end = b.Elapsed
		}
		what := "pre-launch: commit the journal, measure, dynamic launch, kexec"
		switch {
		case e.isTarget():
			n++
			what = fmt.Sprintf("target launch %d: verify, unseal", n)
			if j := e.index("slkit: job "); j >= 0 {
				what += ", job " + strings.Fields(e.lines[j])[2]
			}
		case e.has("slkit: efi: rebooting"):
			what = "pre-launch: commit the journal, reboot through the firmware"
		case e.has("(must be refused)"):
			what = "pre-launch: launches on bad journals refused, then one without the journal (dry run)"
		}
		d.sum.Phases = append(d.sum.Phases, demoPhase{fmt.Sprintf("%s: %s", name, what), (end - e.times[0]).Seconds()})
		prev = end
	}
	d.last = time.Now()
}

// launches records the run's target launches: PCR 17/18 predicted and
// read in every bank, the fingerprint, what was committed before each.
func (d *seedDemo) launches(r *seedRig, b *rigtest.Boot, ls []seedLaunch) {
	var pred tpm.Expected
	json.Unmarshal([]byte(r.pred), &pred)
	names := []string{"launch 1: the first boot", "launch 2: after the kexec round trip (no firmware reboot)", "launch 3: after the firmware reboot"}
	var committed []string
	k := 0
	for _, e := range environments(b) {
		if !e.isTarget() {
			for _, l := range e.lines {
				if m := appliedRe.FindStringSubmatch(l); m != nil {
					committed = append(committed, m[1])
				}
			}
			continue
		}
		if k >= len(ls) {
			break
		}
		l := ls[k]
		x := demoLaunch{Name: names[min(k, len(names)-1)], Committed: append([]string{}, committed...)}
		x.PCRs.Predicted, x.PCRs.Read = pcrMap(&pred.PCRs), pcrMap(&l.read.PCRs)
		if len(l.fingerprints) > 0 {
			x.Fingerprint = l.fingerprints[0]
		}
		d.sum.Launches = append(d.sum.Launches, x)
		p17, _ := l.read.Get(tpm.SHA256, 17)
		d.narrate("%s: PCR 17 sha256 %s (= predicted: %v), committed before it %v, unsealed %s (= the secret: %v)", x.Name,
			p17.Short(), equalPCRs(x.PCRs.Predicted, x.PCRs.Read), x.Committed, x.Fingerprint, x.Fingerprint == r.secretFP)
		for _, why := range l.refused {
			d.narrate("  refused, as it must be: %s", why)
		}
		committed = nil
		k++
	}
	for i, l := range ls {
		for _, why := range l.refused {
			d.sum.Refusals = append(d.sum.Refusals, demoRefusal{fmt.Sprintf("launch %d: %s", i+1, refusalWhat(why)), why})
		}
	}
}

// refusalWhat names what a target's refusal refused.
func refusalWhat(why string) string {
	switch {
	case strings.Contains(why, "journal signing key"):
		return "the journal signing key, after the launched OS left the launch"
	case strings.Contains(why, "leave dynamic launch"):
		return "the secret, after the launched OS left the launch"
	case strings.Contains(why, "DCE request refused"):
		return "a DCE event asked for by the launched OS (the host refuses it and logs it)"
	case strings.Contains(why, "Measured Kernel command line"):
		return "the secret sealed to another launch (another command line)"
	}
	return "a refusal in the launched OS"
}

func pcrMap(p *tpm.PCRs) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, a := range p.Algs() {
		m := map[string]string{}
		for _, i := range []int{17, 18} {
			if v, ok := p.Get(a, i); ok {
				m[fmt.Sprint(i)] = v.String()
			}
		}
		out[a.String()] = m
	}
	return out
}

func equalPCRs(a, b map[string]map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for bank, m := range a {
		for i, v := range m {
			if b[bank][i] != v {
				return false
			}
		}
	}
	return true
}

// refusal records a refusal the flow must produce.
func (d *seedDemo) refusal(what, message string) {
	d.sum.Refusals = append(d.sum.Refusals, demoRefusal{what, message})
	d.narrate("refused, as it must be: %s: %s", what, message)
}

// write prints the timeline and, in the demo, writes summary.json.
func (d *seedDemo) write(t *testing.T) {
	d.phase("checks")
	var sb strings.Builder
	total := 0.0
	for _, p := range d.sum.Phases {
		fmt.Fprintf(&sb, "  %-92s %7.1fs\n", p.Name, p.Seconds)
		total += p.Seconds
	}
	fmt.Fprintf(&sb, "  %-92s %7.1fs", "total", total)
	t.Logf("timeline:\n%s", sb.String())
	if d.out == "" || t.Failed() {
		return
	}
	fmt.Printf("\ntimeline (host wall clock):\n%s\n", sb.String())
	b, err := json.MarshalIndent(d.sum, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(d.out, "summary.json")
	if err := os.MkdirAll(d.out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fsys.WriteFile(fsys.OS{}, p, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("summary: %s\n", p)
}
