package qemu

import (
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var seen []string
	tr := NewTracker(t0, func(p Phase) { seen = append(seen, p.Name) })
	for i, l := range []string{
		"SeaBIOS (version 1.16)",
		"[    0.000000] Linux version 6.1.0",
		"slkit: phase=init t=0.40s",
		"slkit: phase=init t=0.41s",
		"slkit: phase=measure t=0.90s",
		"slkit: result=fail reason=PCR 9: event 2 \"initrd\" differs",
	} {
		tr.Line(l, t0.Add(time.Duration(i)*time.Second))
	}
	want := []string{"firmware", "kernel", "init", "measure"}
	if len(seen) != len(want) {
		t.Fatalf("phases %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("phases %v, want %v", seen, want)
		}
	}
	if p := tr.Phases(); p[3].Start != 4*time.Second {
		t.Fatalf("measure started at %s", p[3].Start)
	}
	r := tr.Result()
	if !r.Reported || r.OK || r.Reason != `PCR 9: event 2 "initrd" differs` {
		t.Fatalf("result %+v", r)
	}
}
