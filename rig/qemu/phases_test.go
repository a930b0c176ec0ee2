package qemu

import (
	"strings"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var seen []string
	tr := NewTracker(t0, func(p Phase) { seen = append(seen, p.Name) })
	for i, l := range []string{
		"\x1b[2J\x1b[01;01H",           // OVMF clearing the screen
		"slkit: phase=init t=2.50s",    // at 1 s... (see below)
		"slkit: phase=init t=2.51s",    // repeated marker: no new phase
		"slkit: phase=measure t=0.90s", // not uptime: only init's t is used
		"slkit: result=ok",             // a result, replaced by the next one
		"slkit: result=fail reason=PCR 9: event 2 \"initrd\" differs",
	} {
		tr.Line(l, t0.Add(time.Duration(i)*10*time.Second))
	}
	if got, want := strings.Join(seen, ","), "firmware,kernel,init,measure"; got != want {
		t.Fatalf("phases %s, want %s", got, want)
	}
	p := tr.Phases()
	// init arrived 10 s after the start with an uptime of 2.5 s: the
	// kernel started at 7.5 s.
	if p[1].Start != 7500*time.Millisecond || !p[1].Estimated {
		t.Errorf("kernel phase %+v, want an estimated start at 7.5s", p[1])
	}
	if p[2].Start != 10*time.Second || p[3].Start != 30*time.Second {
		t.Errorf("init at %s, measure at %s", p[2].Start, p[3].Start)
	}
	r := tr.Result()
	if !r.Reported || r.OK || r.Reason != `PCR 9: event 2 "initrd" differs` {
		t.Fatalf("result %+v", r)
	}
}

func TestTrackerPrintk(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr := NewTracker(t0, nil)
	tr.Line("SeaBIOS (version 1.16.2)", t0.Add(time.Second))
	// An uptime larger than the time since QEMU's start (clock skew) is
	// clamped to the firmware phase's start.
	tr.Line("[    9.000000] Linux version 6.1.0", t0.Add(4*time.Second))
	tr.Line("[    9.100000] something else", t0.Add(5*time.Second))
	p := tr.Phases()
	if len(p) != 2 || p[1].Name != "kernel" || p[1].Start != 0 {
		t.Fatalf("phases %+v", p)
	}
	tr2 := NewTracker(t0, nil)
	tr2.Line("Linux version 6.1.0 (no timestamp)", t0.Add(3*time.Second))
	if p := tr2.Phases(); len(p) != 2 || p[1].Start != 3*time.Second || p[1].Estimated {
		t.Fatalf("phases %+v", p)
	}
	if r := tr2.Result(); r.Reported {
		t.Fatalf("result %+v without a result line", r)
	}
}
