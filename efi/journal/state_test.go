package journal

import (
	"errors"
	"reflect"
	"testing"
)

func TestStateRoundTripAndCorruption(t *testing.T) {
	s := &State{Generation: 9, Journal: [32]byte{3}, Runs: 1, Entries: []EntryState{
		{Seq: 1, Status: Done, TriesLeft: 2, HasPre: true, Pre: [32]byte{1}, HasPost: true, Post: [32]byte{2}},
		{Seq: 2, Status: Retry, TriesLeft: 1, Reason: ReasonErrno, Errno: 28},
	}}
	s.AppliedThrough = s.appliedThrough()
	b := s.Marshal()
	if len(b) != 64+2*80+4 || s.AppliedThrough != 1 {
		t.Fatalf("%d bytes, applied through %d", len(b), s.AppliedThrough)
	}
	got, err := ParseState(b)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("%v\n%+v\n%+v", err, got, s)
	}
	for name, bad := range map[string][]byte{
		"truncated":       b[:len(b)-1],
		"bit flip":        func() []byte { c := append([]byte(nil), b...); c[100] ^= 1; return c }(),
		"empty":           nil,
		"another magic":   append([]byte("SLKEFIJ\x00"), b[8:]...),
		"applied-through": (&State{Generation: 1, AppliedThrough: 1, Entries: []EntryState{{Seq: 1}}}).Marshal(),
	} {
		if _, err := ParseState(bad); !errors.Is(err, ErrBadState) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestStatePath(t *testing.T) {
	for _, c := range [][3]string{
		{"/disk/j", "", "/disk/j.state"},
		{"/disk/j", "/other/s", "/other/s"},
		{"j.json", "", "j.json.state"},
	} {
		if got := StatePath(c[0], c[1]); got != c[2] {
			t.Errorf("StatePath(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
