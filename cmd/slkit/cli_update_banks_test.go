package main

import (
	"crypto/sha1"
	"crypto/sha512"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// stdExtendChain is E(…E(E(0, H(m1)), H(m2))…) with E(p, d) = H(p ‖ d),
// computed with the standard library only (TPM 2.0 Part 1 §17.2).
func stdExtendChain(newHash func() hash.Hash, measured ...[]byte) []byte {
	h := newHash()
	pcr := make([]byte, h.Size())
	for _, m := range measured {
		h.Reset()
		h.Write(m)
		d := h.Sum(nil)
		h.Reset()
		h.Write(pcr)
		h.Write(d)
		pcr = h.Sum(nil)
	}
	return pcr
}

// TestCLIUpdatePrepareNextPolicyBanks: `update prepare --next-policy`
// forward-seals a file sealed in sha1, sha384 or sha512 to the values the
// next launch produces in that bank. A policy pins only its images'
// SHA-256, so without the images the prediction in another bank is
// refused (never replaced by the current values); with --next-root it
// reads them, and the update object holds the values computed here with
// the standard library and unseals after the launch. A --next-pcrs file
// without the sealed bank is refused too.
func TestCLIUpdatePrepareNextPolicyBanks(t *testing.T) {
	for _, bc := range []struct {
		bank    string
		newHash func() hash.Hash
	}{{"sha1", sha1.New}, {"sha384", sha512.New384}, {"sha512", sha512.New}} {
		t.Run(bc.bank, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir())
			tt := tpmtest.Open(t)
			u := newUpdateFiles(t)
			f := writeLaunchFiles(t)
			key := f.policyKey(t)
			pub := key + ".pub"
			current := f.sign(t, key, "current.json", f.policyDoc(sha256Hex(f.kb)))
			nextCmdline := "console=ttyS0 next"
			next := f.sign(t, key, "next.json", strings.Replace(f.policyDoc(sha256Hex(f.kb)), "console=ttyS0 quiet", nextCmdline, 1))
			launchDry := func(pol string) {
				t.Helper()
				if r := runSlkit(t, tt, "launch", "--policy", pol, "--policy-key", pub, "--root", f.root, "--log", filepath.Join(f.dir, "log"), "--dry-run"); r.code != 0 {
					t.Fatal(r.stderr)
				}
			}
			launchDry(current)
			if r := runSlkit(t, tt, "seal", "--bank", bc.bank, "--pcrs", "8,9", "--in", u.secret, "--out", u.sealed); r.code != 0 {
				t.Fatal(r.stderr)
			}
			fp := runSlkit(t, tt, "unseal", u.sealed, "--fingerprint").stdout
			u.queue(t, "Thing-"+vendorGUIDText, "--hex", "01")
			prepare := func(args ...string) cliResult {
				return runSlkit(t, tt, append([]string{"update", "prepare", "--journal", u.journal, "--sealed", u.sealed}, args...)...)
			}

			// Without the images: only SHA-256 is pinned, so this bank
			// cannot be predicted. Refused, nothing written.
			before, _ := os.ReadFile(u.sealed)
			r := prepare("--next-policy", next, "--policy-key", pub)
			if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, bc.bank) || !strings.Contains(r.stderr, "--next-root") {
				t.Fatalf("prediction without images: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			// A prediction file without the sealed bank is refused too.
			sha256Only := filepath.Join(f.dir, "next-sha256.json")
			r = runSlkit(t, nil, "predict", "--kernel", f.kernel, "--initrd", f.initrd, "--cmdline", nextCmdline, "--policy", next, "--bank", "sha256", "--json")
			if r.code != 0 {
				t.Fatal(r.stderr)
			}
			os.WriteFile(sha256Only, []byte(r.stdout), 0o644)
			r = prepare("--next-pcrs", sha256Only)
			if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "no "+bc.bank+" values") {
				t.Fatalf("--next-pcrs without the bank: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			if after, _ := os.ReadFile(u.sealed); string(after) != string(before) {
				t.Fatal("a refused prepare changed the sealed file")
			}

			// With the images: sealed to the predicted values of the bank.
			r = prepare("--next-policy", next, "--policy-key", pub, "--next-root", f.root)
			if r.code != 0 || !strings.Contains(r.stdout, "update object sealed to "+bc.bank+" PCRs 8,9, PCRs 8 predicted for") {
				t.Fatalf("prepare: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			b, _ := os.ReadFile(u.sealed)
			s, err := tpm.ParseSealed(b)
			if err != nil || s.Update == nil {
				t.Fatalf("prepared file: %v, update object %v", err, s != nil && s.Update != nil)
			}
			nb, _ := os.ReadFile(next)
			alg, _ := tpm.ParseAlg(bc.bank)
			want := map[int][]byte{
				8: stdExtendChain(bc.newHash, nb, []byte(nextCmdline)),
				9: stdExtendChain(bc.newHash, f.kb, f.ib),
			}
			for i, w := range want {
				if got, ok := s.Update.Expected.Get(alg, i); !ok || !got.Equal(w) {
					t.Errorf("update object %s PCR %d = %s, want %x", bc.bank, i, got, w)
				}
			}

			// The next launch: the main object is refused, the update
			// object releases the same secret.
			if err := tt.Reboot(); err != nil {
				t.Fatal(err)
			}
			launchDry(next)
			r = runSlkit(t, tt, "unseal", u.sealed, "--fingerprint")
			if r.code != 0 || r.stdout != fp {
				t.Fatalf("unseal after the next launch: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}
