package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

func TestCLISealForwardAndUnseal(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	secret := []byte("0123456789abcdef-disk-key")
	os.WriteFile(secretFile, secret, 0o600)
	// Predicted values for PCR 16 after extending "next": forward sealing.
	banks, _ := tpm.ActiveBanks(tt)
	l, _ := tpm.NewEventLog(banks)
	ev, _ := l.AppendData(16, tpm.EvIPL, []byte("next"), []byte("kernel"))
	pred, _ := l.Replay()
	x := tpm.Expected{PCRs: *pred, Events: l.Events}
	b, _ := json.Marshal(x)
	values := filepath.Join(dir, "predicted.json")
	os.WriteFile(values, b, 0o600)
	sealed := filepath.Join(dir, "sealed.json")
	r := runSlkit(t, tt, "seal", "--pcrs", "16", "--pcr-values", values, "--in", secretFile, "--out", sealed)
	if r.code != 0 {
		t.Fatalf("seal: %d %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(sealed); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sealed file: %v %v", fi, err)
	}
	logFile := filepath.Join(dir, "log.bin")
	lb, _ := l.MarshalBinary()
	os.WriteFile(logFile, lb, 0o600)
	// Before the predicted state: refused, exit 3, nothing written.
	out := filepath.Join(dir, "out")
	r = runSlkit(t, tt, "unseal", sealed, "--out", out)
	if r.code != 3 || !strings.Contains(r.stderr, "PCR 16") {
		t.Fatalf("before: exit %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a refused unseal wrote the output file")
	}
	tpm.Extend(tt, 16, ev.Digests)
	r = runSlkit(t, tt, "unseal", sealed, "--eventlog", logFile)
	if r.code != 0 || r.stdout != string(secret) {
		t.Fatalf("unseal to pipe: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = runSlkit(t, tt, "unseal", "--fingerprint", sealed)
	if want := fmt.Sprintf("sha256:%x\n", sha256.Sum256(secret)); r.code != 0 || r.stdout != want {
		t.Fatalf("fingerprint: %d %q, want %q", r.code, r.stdout, want)
	}
	// Extend again: refusal names the extra event via the log given.
	tpm.Extend(tt, 16, ev.Digests)
	r = runSlkit(t, tt, "unseal", sealed, "--eventlog", logFile)
	if r.code != 3 || !strings.Contains(r.stderr, "PCR 16: sha256 differs") || r.stdout != "" {
		t.Fatalf("after extra extend: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestCLIUnsealNeverToTerminal(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s"), []byte("secret"), 0o600)
	sealed := filepath.Join(dir, "sealed.json")
	if r := runSlkit(t, tt, "seal", "--pcrs", "7", "--in", filepath.Join(dir, "s"), "--out", sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var o, e bytes.Buffer
	en := &env{stdin: strings.NewReader(""), stdout: &o, stderr: &e, stdoutIsTerminal: func() bool { return true }, tpmOptions: tt.Options}
	code := run([]string{"slkit", "--tpm", tt.Spec, "unseal", sealed}, en)
	if code != 1 || o.Len() != 0 || !strings.Contains(e.String(), "refusing to write the secret to a terminal") {
		t.Fatalf("exit %d stdout %q stderr %q", code, o.String(), e.String())
	}
}

func TestCLISealPINFromStdinAndFile(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s"), []byte("secret"), 0o600)
	os.WriteFile(filepath.Join(dir, "pin"), []byte("4711\n"), 0o600)
	sealed := filepath.Join(dir, "sealed.json")
	if r := runSlkit(t, tt, "seal", "--pcrs", "7", "--pin-file", filepath.Join(dir, "pin"), "--in", filepath.Join(dir, "s"), "--out", sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := runSlkit(t, tt, "unseal", sealed)
	if r.code != 1 || !strings.Contains(r.stderr, "requires a PIN") {
		t.Fatalf("no PIN: %d %q", r.code, r.stderr)
	}
	var o, e bytes.Buffer
	en := &env{stdin: strings.NewReader("4711\n"), stdout: &o, stderr: &e, stdoutIsTerminal: func() bool { return false }, tpmOptions: tt.Options}
	if code := run([]string{"slkit", "--tpm", tt.Spec, "unseal", "--pin", sealed}, en); code != 0 || o.String() != "secret" {
		t.Fatalf("PIN on stdin: %d %q %q", code, o.String(), e.String())
	}
	en = &env{stdin: strings.NewReader("9999\n"), stdout: &o, stderr: &e, stdoutIsTerminal: func() bool { return false }, tpmOptions: tt.Options}
	o.Reset()
	e.Reset()
	if code := run([]string{"slkit", "--tpm", tt.Spec, "unseal", "--pin", sealed}, en); code != 3 || o.Len() != 0 || !strings.Contains(e.String(), "wrong PIN") {
		t.Fatalf("wrong PIN: %d %q %q", code, o.String(), e.String())
	}
	daLockResetCLI(t, tt)
}

func TestCLISealBadInput(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, 129), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"banks":{"sha256":{"16":"abcd"}}}`), 0o600)
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("x"), 0o600)
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte("{not json"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"seal", "--pcrs", "7", "--in", big, "--out", filepath.Join(dir, "o")}, "more than 128 bytes"},
		{[]string{"seal", "--pcrs", "16", "--pcr-values", bad, "--in", small, "--out", filepath.Join(dir, "o")}, "bad.json"},
		{[]string{"seal", "--pcrs", "99", "--in", small, "--out", filepath.Join(dir, "o")}, "--pcrs"},
		{[]string{"unseal", garbage}, "garbage.json"},
		{[]string{"unseal", filepath.Join(dir, "missing.json")}, "missing.json: no such file"},
	} {
		r := runSlkit(t, tt, tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d %q (want exit 1 naming %q)", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o")); !os.IsNotExist(err) {
		t.Fatal("a failed seal left an output file")
	}
}

// daLockResetCLI resets the TPM's dictionary-attack counter after a test
// that used a wrong PIN (TPM2_DictionaryAttackLockReset, empty lockout auth).
func daLockResetCLI(t *testing.T, tt *tpmtest.TPM) {
	t.Helper()
	cmd := []byte{0x80, 0x02, 0, 0, 0, 0x1b, 0, 0, 0x01, 0x39, 0x40, 0, 0, 0x0a,
		0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 0, 0, 0}
	rsp, err := tt.Send(cmd)
	if err != nil || !bytes.Equal(rsp[6:10], []byte{0, 0, 0, 0}) {
		t.Fatalf("DictionaryAttackLockReset: %x %v", rsp, err)
	}
}
