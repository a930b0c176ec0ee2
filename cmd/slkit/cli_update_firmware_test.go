package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/efi/secureboot"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// replayInto extends the TPM with every event of the fixture log, as the
// firmware did on the machine it comes from.
func replayInto(t *testing.T, tt *tpmtest.TPM) {
	t.Helper()
	b, err := os.ReadFile(fixtureLog)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpm.ParseEventLog(b)
	if err != nil {
		t.Fatal(err)
	}
	banks, _ := tpm.ActiveBanks(tt)
	for _, e := range l.Events {
		if e.Type == tpm.EvNoAction {
			continue
		}
		ds := tpm.Digests{}
		for _, a := range banks {
			ds[a] = e.Digests[a]
		}
		if err := tpm.Extend(tt, e.PCR, ds); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCLIUpdatePrepareFirmware: with --firmware-log, a secret sealed to
// PCRs 1, 7 and 8 gets an update object sealed to the predicted PCR 1 and
// 7 of a queued BootOrder + Boot#### + db append, and no window; a dbx
// entry revoking the db certificate that verifies the booted UKI is
// refused with nothing written.
func TestCLIUpdatePrepareFirmware(t *testing.T) {
	tt := tpmtest.Open(t)
	replayInto(t, tt)
	u := newUpdateFiles(t)
	extendCLI(t, tt, "8", "launch")
	if r := runSlkit(t, tt, "seal", "--pcrs", "1,7,8", "--in", u.secret, "--out", u.sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	lo, _ := (&efi.LoadOption{Attributes: 1, Description: "new", FilePath: []byte{0x7f, 0xff, 4, 0}}).Marshal()
	lof := filepath.Join(u.dir, "boot0003")
	os.WriteFile(lof, lo, 0o600)
	ks, err := secureboot.GenerateKeySet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	add, err := secureboot.AppendDB(ks.Owner, ks.Keys[secureboot.RoleDB].Cert.Raw, ks.Keys[secureboot.RoleKEK], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addf := filepath.Join(u.dir, "db-append.auth")
	os.WriteFile(addf, add, 0o600)
	u.queue(t, efi.BootEntry(3).String(), "--file", lof)
	u.queue(t, efi.BootOrder.String(), "--boot-order", "0000,0001,0002,0003", "--reboot")
	st := efitest.New()
	if r := runEFI(t, st, "", "efi", "queue", "append", efi.Db.String(), "--attr", "NV|BS|RT|AT", "--file", addf, "--key", u.key, "--journal", u.journal); r.code != 0 {
		t.Fatal(r.stderr)
	}
	before, _ := os.ReadFile(u.sealed)
	r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--pub", u.pub, "--sealed", u.sealed, "--firmware-log", fixtureLog)
	if r.code != 0 || !strings.Contains(r.stdout, "next boot predicted from "+fixtureLog+": PCRs 1,7 change") ||
		!strings.Contains(r.stdout, "update object sealed to sha256 PCRs 1,7,8, PCRs 1,7 predicted from the firmware log "+fixtureLog+"\n") || strings.Contains(r.stdout, "window") {
		t.Fatalf("prepare: %d %q %q", r.code, r.stdout, r.stderr)
	}
	b, _ := os.ReadFile(u.sealed)
	s, err := tpm.ParseSealed(b)
	if err != nil || s.Update == nil || s.Update.Policy.Counter != nil {
		t.Fatalf("update object %+v, %v", s.Update, err)
	}

	// A dbx entry for the certificate that verifies the booted UKI.
	os.WriteFile(u.sealed, before, 0o600)
	l, _ := tpm.ParseEventLog(mustReadFile(t, fixtureLog))
	var sig []byte
	for _, e := range l.EventsFor(7) {
		if v, ok := e.UEFIVariable(); ok && e.Type == tpm.EvEFIVariableAuthority {
			sig = v.Data
		}
	}
	var owner efi.GUID
	copy(owner[:], sig)
	revoke, _ := secureboot.SignVariable(efi.Dbx, secureboot.AuthAttr|efi.AppendWrite, mustList(t, owner, sig[16:]), ks.Keys[secureboot.RoleKEK], time.Now())
	rf := filepath.Join(u.dir, "dbx.auth")
	os.WriteFile(rf, revoke, 0o600)
	if r := runEFI(t, st, "", "efi", "queue", "append", efi.Dbx.String(), "--attr", "NV|BS|RT|AT", "--file", rf, "--key", u.key, "--journal", u.journal); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--pub", u.pub, "--sealed", u.sealed, "--firmware-log", fixtureLog)
	if r.code != 1 || !strings.Contains(r.stderr, "the next boot would be refused: dbx revokes the db certificate") {
		t.Fatalf("dbx revoking the boot image's certificate: %d %q", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(u.sealed); string(after) != string(before) {
		t.Error("a refused prepare changed the sealed file")
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustList(t *testing.T, owner efi.GUID, cert []byte) []byte {
	t.Helper()
	b, err := efi.MarshalSignatureLists([]efi.SignatureList{efi.X509List(owner, cert)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
