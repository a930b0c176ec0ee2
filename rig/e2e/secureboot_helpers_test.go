package e2e_test

import (
	"crypto/sha256"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/slkit/slkit/rig/rigtest"
	"github.com/slkit/slkit/tpm"
)

// outputs returns what every run of the guest step `slkit CMD…` printed,
// in order.
func outputs(b *rigtest.Boot, cmd string) []string {
	var out []string
	var cur []string
	in := false
	for _, l := range b.Console {
		switch {
		case strings.Contains(l, "slkit: running slkit "+cmd):
			in, cur = true, nil
		case in && (strings.Contains(l, "slkit: running") || strings.Contains(l, "slkit: result=") || strings.Contains(l, "slkit: phase=")):
			out, in = append(out, strings.Join(cur, "\n")), false
		case in:
			cur = append(cur, l)
		}
	}
	return out
}

// guestLog rebuilds the firmware log the guest printed with `eventlog
// show --json` as a binary log file at path.
func guestLog(t *testing.T, printed, path string) *tpm.EventLog {
	t.Helper()
	var v struct {
		SpecID struct {
			Algorithms []tpm.AlgSize `json:"algorithms"`
		} `json:"spec_id"`
		Events []tpm.Event `json:"events"`
	}
	if err := json.Unmarshal([]byte(printed), &v); err != nil {
		t.Fatalf("the guest's event log: %v\n%.2000s", err, printed)
	}
	var algs []tpm.Alg
	for _, a := range v.SpecID.Algorithms {
		algs = append(algs, a.Alg)
	}
	l, err := tpm.NewEventLog(algs)
	if err != nil {
		t.Fatal(err)
	}
	l.Events = v.Events
	b, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
	back, err := tpm.ParseEventLog(b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// comparePCRs fails unless every PCR of want (a predict --json output or a
// pcr read --json output) in every bank equals got's (the guest's read),
// and returns how many values it compared.
func comparePCRs(t *testing.T, what string, want, got tpm.Expected, pcrs ...int) int {
	t.Helper()
	n := 0
	if len(got.Algs()) < 4 {
		t.Errorf("%s: the guest read %d banks, want 4", what, len(got.Algs()))
	}
	for _, a := range got.Algs() {
		for _, i := range pcrs {
			g, _ := got.Get(a, i)
			w, ok := want.Get(a, i)
			n++
			if !ok || !g.Equal(w) {
				t.Errorf("%s: %s PCR %d: the guest read %s, want %s", what, a, i, g, w)
			}
		}
	}
	return n
}

func expected(t *testing.T, s string) tpm.Expected {
	t.Helper()
	var x tpm.Expected
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		t.Fatalf("%v\n%.2000s", err, s)
	}
	return x
}

func utf16z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return append(b, 0, 0)
}

func sha(b []byte) tpm.Digest { s := sha256.Sum256(b); return s[:] }

// osslDigest is osslsigncode's Authenticode digest of an image.
func osslDigest(t *testing.T, img string) string {
	t.Helper()
	out, _ := exec.Command("osslsigncode", "verify", "-in", img).CombinedOutput()
	m := regexp.MustCompile(`Calculated message digest\s*:\s*([0-9A-F]+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("osslsigncode verify %s: %s", img, out)
	}
	return strings.ToLower(m[1])
}
