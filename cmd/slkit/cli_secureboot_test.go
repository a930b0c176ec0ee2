package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/efi/secureboot"
)

// fixtureLog is an OVMF Secure Boot boot of a signed UKI (nextboot's test
// data).
const fixtureLog = "../../nextboot/testdata/ovmf-secureboot-uki.bin"

// TestCLIEnroll: `efi keygen --secure-boot` then `efi enroll` in setup
// mode writes db, KEK and PK; in user mode, or with a write missing, it
// refuses with one line (exit 1) and writes nothing.
func TestCLIEnroll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	r := runSlkit(t, nil, "efi", "keygen", "--secure-boot", "--out", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "PK: "+filepath.Join(dir, "PK.auth")) {
		t.Fatalf("keygen: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runSlkit(t, nil, "efi", "keygen", "--secure-boot", "--out", dir); r.code != 1 || !strings.Contains(r.stderr, "refusing to replace") {
		t.Fatalf("second keygen: %d %q", r.code, r.stderr)
	}
	ro := efi.BootserviceAccess | efi.RuntimeAccess
	st := efitest.New(efitest.WithVariable(efi.SetupMode, ro, []byte{1}), efitest.WithVariable(efi.SecureBoot, ro, []byte{0}))
	if r := runEFI(t, st, "", "efi", "enroll", "--dir", dir); r.code != 0 || !strings.Contains(r.stdout, "enrolled db, KEK and PK") {
		t.Fatalf("enroll: %d %q %q", r.code, r.stdout, r.stderr)
	}
	ks, err := secureboot.LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []efi.Name{efi.Db, efi.KEK, efi.PK} {
		_, data, ok := st.Value(n)
		lists, err := efi.ParseSignatureLists(data)
		if !ok || err != nil || len(lists) != 1 || lists[0].Signatures[0].Owner != ks.Owner {
			t.Errorf("%s after enrolment: %v %v", n.Name, ok, err)
		}
	}
	sets := st.Sets()
	if r := runEFI(t, st, "", "efi", "enroll", "--dir", dir); r.code != 1 || !strings.Contains(r.stderr, "not in Secure Boot setup mode") || st.Sets() != sets {
		t.Fatalf("enrol in user mode: %d %q, %d writes", r.code, r.stderr, st.Sets()-sets)
	}
	os.Remove(filepath.Join(dir, "KEK.auth"))
	st2 := efitest.New(efitest.WithVariable(efi.SetupMode, ro, []byte{1}))
	if r := runEFI(t, st2, "", "efi", "enroll", "--dir", dir); r.code != 1 || !strings.Contains(r.stderr, "KEK.auth") || st2.Sets() != 0 {
		t.Fatalf("a missing write: %d %q", r.code, r.stderr)
	}
}

// TestCLIPredictFirmwareLog: `predict --firmware-log --journal` names the
// PCRs a queued BootOrder/Boot#### change moves, refuses a BootNext with
// one line naming the journal entry, and names a log that is not one.
func TestCLIPredictFirmwareLog(t *testing.T) {
	u := newUpdateFiles(t)
	lo, _ := (&efi.LoadOption{Attributes: 1, Description: "new", FilePath: []byte{0x7f, 0xff, 4, 0}}).Marshal()
	lof := filepath.Join(u.dir, "boot0003")
	os.WriteFile(lof, lo, 0o600)
	u.queue(t, efi.BootEntry(3).String(), "--file", lof)
	u.queue(t, efi.BootOrder.String(), "--boot-order", "0000,0001,0002,0003")
	r := runSlkit(t, nil, "predict", "--firmware-log", fixtureLog, "--journal", u.journal, "--pub", u.pub, "--json")
	var out struct {
		Changed       []int             `json:"changed"`
		Unpredictable map[string]string `json:"unpredictable"`
		Banks         map[string]map[string]string
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil || len(out.Changed) != 1 || out.Changed[0] != 1 || len(out.Unpredictable) != 0 || len(out.Banks["sha256"]) < 8 {
		t.Fatalf("predict: %d %v %+v %q", r.code, err, out, r.stderr)
	}
	r = runSlkit(t, nil, "predict", "--firmware-log", fixtureLog, "--journal", u.journal)
	if r.code != 0 || !strings.Contains(r.stdout, "PCRs changed [1]") {
		t.Fatalf("predict: %d %q %q", r.code, r.stdout, r.stderr)
	}
	u.queue(t, efi.BootNext.String(), "--u16", "3")
	r = runSlkit(t, nil, "predict", "--firmware-log", fixtureLog, "--journal", u.journal)
	if r.code != 1 || !strings.Contains(r.stderr, u.journal+" entry 3 (set BootNext): BootNext makes the next boot start another boot option") {
		t.Fatalf("BootNext: %d %q", r.code, r.stderr)
	}
	if r := runSlkit(t, nil, "predict", "--firmware-log", u.secret); r.code != 1 || !strings.Contains(r.stderr, u.secret+": ") {
		t.Fatalf("not a log: %d %q", r.code, r.stderr)
	}
	if r := runSlkit(t, nil, "predict", "--firmware-log", fixtureLog, "--uki", u.secret); r.code != 1 || !strings.Contains(r.stderr, u.secret+": not a usable PE image") {
		t.Fatalf("not a UKI: %d %q", r.code, r.stderr)
	}
}

// TestCLIUKIBuildErrors: --uki without --kernel, with --out, with only
// half of the signing pair, and with a stub that is not a PE: one line,
// exit 1, nothing written.
func TestCLIUKIBuildErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "uki.efi")
	notPE := filepath.Join(dir, "stub")
	os.WriteFile(notPE, []byte("#!/bin/sh\n"), 0o600)
	self, _ := os.Executable()
	base := []string{"initramfs", "build", "--uki", out, "--slkit-binary", self, "--run", "pcr read"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--kernel is required"},
		{[]string{"--kernel", notPE, "--out", filepath.Join(dir, "x.cpio")}, "--uki and --out exclude each other"},
		{[]string{"--kernel", notPE, "--sign-key", notPE}, "--sign-key and --sign-cert go together"},
		{[]string{"--kernel", notPE, "--stub", notPE}, "stub " + notPE + ": not a usable PE image: no MZ header"},
		{[]string{"--kernel", notPE, "--cmdline", "a\tb"}, "command line: byte 1 is 0x9"},
	} {
		r := runSlkit(t, nil, append(append([]string{}, base...), c.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and one line with %q", c.args, r.code, r.stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v left %s", c.args, out)
		}
	}
}
