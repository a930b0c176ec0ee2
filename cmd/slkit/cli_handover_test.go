package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestCLIUnsealSwappedObject: the hand-over archive is not measured, so a
// target checks a handed-over sealed file against what its own measured
// image pins: the secret's fingerprint. A swapped sealed object — here one
// sealed to the very same PCR policy, as anyone who can run code on the
// machine can make, holding another secret — unseals at the TPM but is
// refused (exit 3, one line naming the file, nothing written or printed);
// the right object passes. The fingerprints are computed here with
// crypto/sha256.
func TestCLIUnsealSwappedObject(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	seal := func(name, secret string) string {
		in, out := filepath.Join(dir, name+".secret"), filepath.Join(dir, name+".sealed")
		os.WriteFile(in, []byte(secret), 0o600)
		if r := runSlkit(t, tt, "seal", "--pcrs", "16", "--in", in, "--out", out); r.code != 0 {
			t.Fatalf("seal %s: %d %s", name, r.code, r.stderr)
		}
		return out
	}
	right := seal("right", "the target's disk key: 3c9e")
	swapped := seal("swapped", "a key the attacker knows: 77aa")
	pin := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("the target's disk key: 3c9e")))

	// The TPM releases the swapped object: its policy is satisfied.
	if r := runSlkit(t, tt, "unseal", swapped, "--fingerprint"); r.code != 0 || r.stdout == pin+"\n" {
		t.Fatalf("swapped object without a pin: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(dir, "out")
	for _, extra := range [][]string{{"--out", out}, nil, {"--fingerprint"}} {
		r := runSlkit(t, tt, append([]string{"unseal", swapped, "--expect-fingerprint", pin}, extra...)...)
		if r.code != 3 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
			!strings.Contains(r.stderr, swapped+": the unsealed secret is not the one expected") || !strings.Contains(r.stderr, pin) {
			t.Fatalf("swapped object %v: exit %d, stdout %q, stderr %q", extra, r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("a refused secret was written")
		}
	}
	r := runSlkit(t, tt, "unseal", right, "--expect-fingerprint", pin, "--out", out)
	if b, err := os.ReadFile(out); r.code != 0 || err != nil || string(b) != "the target's disk key: 3c9e" {
		t.Fatalf("right object: exit %d %q, %v", r.code, r.stderr, err)
	}
	r = runSlkit(t, tt, "unseal", right, "--expect-fingerprint", strings.ToUpper(pin[7:]), "--fingerprint")
	if r.code != 0 || r.stdout != pin+"\n" {
		t.Fatalf("bare upper-case hex: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []string{"sha256:12", "md5:" + pin[7:], pin + "00", "sha256:" + strings.Repeat("zz", 32), ""} {
		r := runSlkit(t, tt, "unseal", right, "--expect-fingerprint", bad, "--fingerprint")
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "--expect-fingerprint") {
			t.Errorf("--expect-fingerprint %q: exit %d %q %q", bad, r.code, r.stdout, r.stderr)
		}
	}
}
