package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// wantRefusal checks one line on stderr, the exit code, and that the line
// names what it must.
func wantRefusal(t *testing.T, what string, r cliResult, code int, names ...string) {
	t.Helper()
	ok := r.code == code && strings.Count(r.stderr, "\n") == 1
	for _, n := range names {
		ok = ok && strings.Contains(r.stderr, n)
	}
	if !ok {
		t.Errorf("%s: exit %d %q, want exit %d, one line naming %q", what, r.code, r.stderr, code, names)
	}
}

// TestCLIUnsealMalformedLogDoesNotBlock: the event log only explains a
// refusal. A log the parser rejects never stops an unseal whose PCRs
// match; when the unseal is refused, the refusal says the explanation is
// unavailable.
func TestCLIUnsealMalformedLogDoesNotBlock(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	secret := f(t, dir, "secret", "log secret")
	sealed := filepath.Join(dir, "s.sealed")
	if r := runSlkit(t, tt, "seal", "--pcrs", "16", "--in", secret, "--out", sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	bad := f(t, dir, "bad.log", "this is not a TCG event log at all")
	r := runSlkit(t, tt, "unseal", sealed, "--eventlog", bad)
	if r.code != 0 || r.stdout != "log secret" {
		t.Fatalf("unseal with a malformed log: %d %q %q", r.code, r.stdout, r.stderr)
	}
	extendCLI(t, tt, "16", "changed")
	r = runSlkit(t, tt, "unseal", sealed, "--eventlog", bad)
	wantRefusal(t, "refused unseal with a malformed log", r, 3, "PCR 16", "bad.log", "explanation is unavailable")
}

// TestCLISealedFileRefusals: exit codes and messages of the sealed-file
// refusals.
func TestCLISealedFileRefusals(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	secret := f(t, dir, "secret", "refusal secret")
	pin := f(t, dir, "pin", "4711\n")
	nl := f(t, dir, "newline.pin", "\n")
	sealed, withPIN := filepath.Join(dir, "s.sealed"), filepath.Join(dir, "p.sealed")
	for _, a := range [][]string{
		{"seal", "--pcrs", "7", "--in", secret, "--out", sealed},
		{"seal", "--pcrs", "7", "--in", secret, "--out", withPIN, "--pin-file", pin},
	} {
		if r := runSlkit(t, tt, a...); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	// Tampered private blob: the TPM rejects it; a verification failure
	// naming the file, not a TPM failure.
	s, _ := os.ReadFile(sealed)
	p, err := tpm.ParseSealed(s)
	if err != nil {
		t.Fatal(err)
	}
	priv := append([]byte(nil), p.Private...)
	priv[len(priv)/2] ^= 0x01
	tampered := f(t, dir, "tampered.sealed", strings.Replace(string(s),
		base64.StdEncoding.EncodeToString(p.Private), base64.StdEncoding.EncodeToString(priv), 1))
	r := runSlkit(t, tt, "unseal", tampered, "--out", filepath.Join(dir, "o"))
	wantRefusal(t, "tampered private blob", r, 3, "tampered.sealed")

	r = runSlkit(t, tt, "unseal", sealed, "--pin-file", pin, "--out", filepath.Join(dir, "o"))
	wantRefusal(t, "--pin-file for an object without a PIN", r, 1, "s.sealed", "PIN")
	r = runSlkit(t, tt, "seal", "--pcrs", "7", "--in", secret, "--out", filepath.Join(dir, "o"), "--pin-file", nl)
	wantRefusal(t, "seal with a PIN file holding only a newline", r, 1, "newline.pin")
	r = runSlkit(t, tt, "unseal", withPIN, "--pin-file", nl, "--out", filepath.Join(dir, "o"))
	wantRefusal(t, "unseal with a PIN file holding only a newline", r, 1, "newline.pin")
	r = runSlkit(t, tt, "seal", "--pcrs", "8,,9", "--in", secret, "--out", filepath.Join(dir, "o"))
	wantRefusal(t, "--pcrs 8,,9", r, 1, "8,,9")
	if _, err := os.Stat(filepath.Join(dir, "o")); err == nil {
		t.Error("a refused command wrote its output")
	}
}

// TestCLIMalformedPolicyAndKey: predict --policy with a file that is not a
// signed policy is an input error; a malformed key is one line without a
// Go structure dump.
func TestCLIMalformedPolicyAndKey(t *testing.T) {
	fx := writeLaunchFiles(t)
	garbage := fx.write(t, "garbage.json", "{not a signed policy")
	r := runSlkit(t, nil, "predict", "--kernel", fx.kernel, "--cmdline", "x", "--policy", garbage)
	wantRefusal(t, "predict --policy garbage", r, 1, "garbage.json")
	key := fx.policyKey(t)
	signed := fx.sign(t, key, "signed.json", fx.policyDoc(sha256Hex(fx.kb)))
	// SEQUENCE { INTEGER 0 }: PEM of the right type, DER of the wrong shape.
	bad := fx.write(t, "bad.pub", "-----BEGIN PUBLIC KEY-----\nMAMCAQA=\n-----END PUBLIC KEY-----\n")
	r = runSlkit(t, nil, "policy", "verify", signed, "--pub", bad)
	wantRefusal(t, "malformed public key", r, 1, "bad.pub")
	if strings.ContainsAny(r.stderr, "{}") || strings.Contains(r.stderr, "asn1") {
		t.Errorf("the key error dumps a Go structure: %q", r.stderr)
	}
}

// TestCLISealedFromAnotherTPM: a file sealed on another TPM gives the same
// exit 3 and message whether it was sealed under a persistent SRK or a
// transient one.
func TestCLISealedFromAnotherTPM(t *testing.T) {
	dir := t.TempDir()
	secret := f(t, dir, "secret", "other tpm")
	files := map[bool]string{}
	for _, persistent := range []bool{false, true} {
		// (no comma in a subtest name: it would be in swtpm's state path)
		t.Run(map[bool]string{true: "seal under a persistent SRK", false: "seal under a transient SRK"}[persistent], func(t *testing.T) {
			tt := tpmtest.Open(t)
			if persistent {
				if r := runSlkit(t, tt, "srk", "provision"); r.code != 0 {
					t.Fatal(r.stderr)
				}
			}
			files[persistent] = filepath.Join(dir, fmt.Sprintf("p%v.sealed", persistent))
			if r := runSlkit(t, tt, "seal", "--pcrs", "7", "--in", secret, "--out", files[persistent]); r.code != 0 {
				t.Fatal(r.stderr)
			}
		})
	}
	for _, provisioned := range []bool{false, true} {
		t.Run(map[bool]string{true: "unseal on another TPM with a persistent SRK", false: "unseal on another TPM without one"}[provisioned], func(t *testing.T) {
			tt := tpmtest.Open(t)
			if provisioned {
				if r := runSlkit(t, tt, "srk", "provision"); r.code != 0 {
					t.Fatal(r.stderr)
				}
			}
			msgs := map[string]bool{}
			for persistent, name := range files {
				r := runSlkit(t, tt, "unseal", name, "--out", filepath.Join(dir, "o"))
				wantRefusal(t, fmt.Sprintf("file sealed under persistent=%v", persistent), r, 3, filepath.Base(name), "SRK")
				msgs[strings.ReplaceAll(r.stderr, name, "FILE")] = true
			}
			if len(msgs) != 1 {
				t.Errorf("different refusals for a persistent and a transient SRK: %v", msgs)
			}
		})
	}
}
