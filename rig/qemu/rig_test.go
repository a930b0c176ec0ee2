package qemu

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// vector1234 is PCR17 after _TPM_Hash_Start/Data("1234")/End, computed
// independently: H(0ⁿ ‖ H("1234")) per bank (swtpm tests/_test_tpm2_hashing
// has the same sha256 value, fca5d649…c9b454).
func vector1234(alg string) string {
	switch alg {
	case "sha1":
		d := sha1.Sum([]byte("1234"))
		v := sha1.Sum(append(make([]byte, 20), d[:]...))
		return hex.EncodeToString(v[:])
	default:
		d := sha256.Sum256([]byte("1234"))
		v := sha256.Sum256(append(make([]byte, 32), d[:]...))
		return hex.EncodeToString(v[:])
	}
}

// TestRigHostChannelDRTMVector boots the test guest behind the Mux; the
// guest asks the host over ttyS1 to run the _TPM_Hash sequence over "1234"
// while QEMU holds the control connection, then reads PCR17 itself.
func TestRigHostChannelDRTMVector(t *testing.T) {
	k := requireRig(t)
	guest := testGuest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := startTestRig(t, ctx, WithVM(WithKernel(k.Path), WithInitrd(guest),
		WithAppend(guestAppend("pcr17,hostchan"))))
	before, err := r.VM.Expect(ctx, `^TESTGUEST pcr 17 sha256 ([0-9a-f]{64})$`)
	if err != nil {
		t.Fatal(err)
	}
	if before[1] != strings.Repeat("ff", 32) {
		t.Fatalf("PCR17 before the launch = %s, want all ff", before[1])
	}
	if err := r.VM.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{"sha1", "sha256"} {
		var got []string
		for _, l := range r.VM.Console().Lines() {
			if v, ok := strings.CutPrefix(l, "TESTGUEST pcr 17 "+alg+" "); ok {
				got = append(got, v)
			}
		}
		if len(got) != 2 || got[1] != vector1234(alg) {
			t.Fatalf("%s PCR17 in the guest: %v, want [ff.., %s]; console:\n%s", alg, got, vector1234(alg), r.VM.Console().Text())
		}
	}
	if s := r.Host.Served(); len(s) != 1 || s[0] != VerbTPMHash {
		t.Fatalf("host served %v", s)
	}
	// QEMU's own control traffic went through the mux, fd included.
	seen := map[string]bool{}
	for _, c := range r.Mux.Seen() {
		seen[c.String()] = true
	}
	for _, c := range []string{"SET_DATAFD", "INIT", "GET_CAPABILITY"} {
		if !seen[c] {
			t.Errorf("QEMU's %s did not pass through the mux (saw %v)", c, r.Mux.Seen())
		}
	}
}
