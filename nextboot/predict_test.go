package nextboot

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/tpm"
)

// ovmfLog is the firmware log of a rig boot: OVMF 2022.11 with Secure
// Boot on (Debian's snakeoil PK/KEK/db), booting a signed systemd-stub UKI
// from the ESP (captured with the rig's test guest).
func ovmfLog(t testing.TB) *tpm.EventLog {
	t.Helper()
	b, err := os.ReadFile("testdata/ovmf-secureboot-uki.bin")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpm.ParseEventLog(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// extend replays a list of SHA-256 event digests onto a zero PCR: the
// test's own replay, independent of package tpm's.
func extend(digests ...[]byte) []byte {
	pcr := make([]byte, 32)
	for _, d := range digests {
		h := sha256.Sum256(append(append([]byte(nil), pcr...), d...))
		pcr = h[:]
	}
	return pcr
}

func sum(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// variableData is UEFI_VARIABLE_DATA written out by hand.
func variableData(g efi.GUID, name string, data []byte) []byte {
	b := append([]byte(nil), g[:]...)
	b = append(b, byte(len(name)), 0, 0, 0, 0, 0, 0, 0, byte(len(data)), byte(len(data)>>8), 0, 0, 0, 0, 0, 0)
	for _, c := range name {
		b = append(b, byte(c), 0)
	}
	return append(b, data...)
}

func set(label string, n efi.Name, attr efi.Attr, data []byte) Change {
	return Change{Label: label, Change: journal.Change{Op: journal.OpSet, Var: n, Attr: attr, Data: data}}
}

func signed(payload []byte) []byte {
	return (&efi.Auth2{Time: efi.Time{Year: 2026, Month: 5, Day: 1}, Cert: []byte{0x30, 0}, Payload: payload}).Marshal()
}

const authAttr = efi.NonVolatile | efi.BootserviceAccess | efi.RuntimeAccess | efi.TimeBasedAuthenticatedWriteAccess

// pcrOf returns a PCR of the prediction in sha256.
func pcrOf(t *testing.T, p *Prediction, i int) []byte {
	t.Helper()
	v, ok := p.PCRs.Get(tpm.SHA256, i)
	if !ok {
		t.Fatalf("PCR %d not predicted (unpredictable: %v)", i, p.Unpredictable)
	}
	return v
}

// TestBootOrderAndNewEntry: a new Boot0003 and BootOrder 0000,0001,0002,0003
// change PCR 1 to BootOrder, Boot0000-0002 as they are, Boot0003, the
// separator — computed here from the variables' bytes — and nothing else.
func TestBootOrderAndNewEntry(t *testing.T) {
	l := ovmfLog(t)
	lo, _ := (&efi.LoadOption{Attributes: 1, Description: "slkit test", FilePath: []byte{0x7f, 0xff, 4, 0}}).Marshal()
	order := []byte{0, 0, 1, 0, 2, 0, 3, 0}
	p, err := Predict(l, WithChanges(
		set("e1", efi.BootEntry(3), efi.DefaultAttr, lo),
		set("e2", efi.BootOrder, efi.DefaultAttr, order)))
	if err != nil {
		t.Fatal(err)
	}
	var old [][]byte // Boot0000-0002's data, from the log
	for _, e := range l.EventsFor(1) {
		if v, ok := e.UEFIVariable(); ok && strings.HasPrefix(v.Name(), "Boot0") {
			old = append(old, v.Data)
		}
	}
	if len(old) != 3 {
		t.Fatalf("%d boot entries in the fixture", len(old))
	}
	sep := sum([]byte{0, 0, 0, 0})
	want := extend(sum(order), sum(old[0]), sum(old[1]), sum(old[2]), sum(lo), sep)
	if got := pcrOf(t, p, 1); !bytes.Equal(got, want) {
		t.Errorf("PCR 1 %x, want %x", got, want)
	}
	if len(p.Changed) != 1 || p.Changed[0] != 1 || len(p.Unpredictable) != 0 {
		t.Errorf("changed %v, unpredictable %v; want only PCR 1", p.Changed, p.Unpredictable)
	}
	var ev *tpm.Event
	for i := range p.Log.Events {
		if v, ok := p.Log.Events[i].UEFIVariable(); ok && v.Name() == "Boot0003" {
			ev = &p.Log.Events[i]
		}
	}
	if ev == nil || ev.Type != tpm.EvEFIVariableBoot || !bytes.Equal(ev.Data, variableData(efi.GlobalGUID, "Boot0003", lo)) {
		t.Errorf("Boot0003 event %+v", ev)
	}
}

// TestDbAppend: an authenticated append to db changes PCR 7's db event to
// H(UEFI_VARIABLE_DATA) of the old list followed by the new one; the
// authority event of the boot image (the first db entry) stays.
func TestDbAppend(t *testing.T) {
	l := ovmfLog(t)
	var oldDB []byte
	for _, e := range l.EventsFor(7) {
		if v, ok := e.UEFIVariable(); ok && v.Name() == "db" && e.Type == tpm.EvEFIVariableDriverConfig {
			oldDB = v.Data
		}
	}
	add, _ := efi.MarshalSignatureLists([]efi.SignatureList{efi.X509List(efi.GUID{9}, []byte("another certificate"))})
	p, err := Predict(l, WithChanges(Change{Label: "e1", Change: journal.Change{Op: journal.OpAppend, Var: efi.Db, Attr: authAttr, Data: signed(add)}}))
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for _, e := range l.EventsFor(7) {
		d := e.Digests[tpm.SHA256]
		if v, ok := e.UEFIVariable(); ok && v.Name() == "db" && e.Type == tpm.EvEFIVariableDriverConfig {
			d = sum(variableData(efi.ImageSecurityGUID, "db", append(append([]byte(nil), oldDB...), add...)))
		}
		want = append(want, d)
	}
	if got := pcrOf(t, p, 7); !bytes.Equal(got, extend(want...)) {
		t.Errorf("PCR 7 %x, want %x", got, extend(want...))
	}
	if len(p.Changed) != 1 || p.Changed[0] != 7 || len(p.Unpredictable) != 0 {
		t.Errorf("changed %v, unpredictable %v", p.Changed, p.Unpredictable)
	}
}

// authoritySig is the EFI_SIGNATURE_DATA the fixture's authority event
// names (the snakeoil db certificate).
func authoritySig(t *testing.T, l *tpm.EventLog) []byte {
	for _, e := range l.EventsFor(7) {
		if e.Type == tpm.EvEFIVariableAuthority {
			v, _ := e.UEFIVariable()
			return v.Data
		}
	}
	t.Fatal("no authority event")
	return nil
}

// TestRefusals: changes that would stop the next boot, and changes slkit
// cannot model, are errors naming the journal entry.
func TestRefusals(t *testing.T) {
	l := ovmfLog(t)
	sig := authoritySig(t, l)
	var appDigest []byte
	for _, e := range l.EventsFor(4) {
		if e.Type == tpm.EvEFIBootServicesApp {
			appDigest = e.Digests[tpm.SHA256]
		}
	}
	x509list, _ := efi.MarshalSignatureLists([]efi.SignatureList{efi.X509List(efi.GUID(sig[:16]), sig[16:])})
	hashList, _ := efi.MarshalSignatureLists([]efi.SignatureList{{Type: efi.CertSHA256GUID, Size: 48, Signatures: []efi.SignatureData{{Owner: efi.GUID{7}, Data: appDigest}}}})
	other, _ := efi.MarshalSignatureLists([]efi.SignatureList{efi.X509List(efi.GUID{9}, []byte("another certificate"))})
	appendTo := func(n efi.Name, list []byte) Change {
		return Change{Label: "journal j entry 4", Change: journal.Change{Op: journal.OpAppend, Var: n, Attr: authAttr, Data: signed(list)}}
	}
	for _, c := range []struct {
		name string
		ch   Change
		want error
		text string
	}{
		{"dbx revokes the booted image's hash", appendTo(efi.Dbx, hashList), ErrWouldNotBoot, "dbx revokes the boot image booted now"},
		{"dbx revokes the db certificate", appendTo(efi.Dbx, x509list), ErrWouldNotBoot, "dbx revokes the db certificate"},
		{"db loses the certificate", set("journal j entry 4", efi.Db, authAttr, signed(other)), ErrWouldNotBoot, "would leave db"},
		{"BootNext", set("journal j entry 4", efi.BootNext, efi.DefaultAttr, []byte{1, 0}), ErrUnpredictable, "journal j entry 4: BootNext"},
		{"Driver0001", set("journal j entry 4", efi.Name{Name: "Driver0001", GUID: efi.GlobalGUID}, efi.DefaultAttr, []byte{1}), ErrUnpredictable, "driver"},
	} {
		_, err := Predict(l, WithChanges(c.ch))
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want %v containing %q", c.name, err, c.want, c.text)
		}
	}
}

// TestUnpredictable: a capsule makes PCR 0 and 2 unpredictable, removing
// PK PCR 7; the other PCRs are still predicted.
func TestUnpredictable(t *testing.T) {
	l := ovmfLog(t)
	p, err := Predict(l, WithChanges(
		Change{Label: "c", Change: journal.Change{Op: journal.OpOsIndications, Var: efi.OsIndications, SetBits: 4}},
		set("pk", efi.PK, authAttr, signed(nil))))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2, 7} {
		if _, ok := p.Unpredictable[i]; !ok {
			t.Errorf("PCR %d predicted", i)
		}
		if _, ok := p.PCRs.Get(tpm.SHA256, i); ok {
			t.Errorf("PCR %d has a value", i)
		}
	}
	if _, ok := p.PCRs.Get(tpm.SHA256, 1); !ok {
		t.Error("PCR 1 not predicted")
	}
}

// TestImage: a new image replaces the boot application's digest and every
// PCR 9/11 event of the current image with its own.
func TestImage(t *testing.T) {
	l := ovmfLog(t)
	banks := l.Algs()
	ds := func(b string) tpm.Digests { d, _ := tpm.HashBytes(banks, []byte(b)); return d }
	img := &Image{Name: "new.efi", App: ds("app"), EmbeddedCmdline: true, Events: []tpm.Event{
		{PCR: 11, Type: tpm.EvIPL, Digests: ds("a")}, {PCR: 11, Type: tpm.EvIPL, Digests: ds("b")}, {PCR: 9, Type: tpm.EvEventTag, Digests: ds("c")},
	}}
	img.Signer = nil
	if _, err := Predict(l, WithImage(img)); !errors.Is(err, ErrWouldNotBoot) {
		t.Fatalf("an unsigned image under Secure Boot: %v", err)
	}
	parsed, err := certOf(authoritySig(t, l))
	if err != nil {
		t.Fatal(err)
	}
	img.Signer = parsed
	img.Verifies = func(c *x509.Certificate) bool { return c.Equal(parsed) }
	p, err := Predict(l, WithImage(img))
	if err != nil {
		t.Fatal(err)
	}
	var pcr4 [][]byte // the firmware's own PCR 4 events, then the new image
	for _, e := range l.EventsFor(4) {
		if e.Type == tpm.EvEFIBootServicesApp {
			break
		}
		pcr4 = append(pcr4, e.Digests[tpm.SHA256])
	}
	for _, c := range []struct {
		pcr  int
		want []byte
	}{
		{4, extend(append(pcr4, sum([]byte("app")))...)},
		{11, extend(sum([]byte("a")), sum([]byte("b")))},
		{9, extend(sum([]byte("c")))},
	} {
		if got := pcrOf(t, p, c.pcr); !bytes.Equal(got, c.want) {
			t.Errorf("PCR %d %x, want %x", c.pcr, got, c.want)
		}
	}
	cur, _ := p.Current.Get(tpm.SHA256, 7)
	if got := pcrOf(t, p, 7); !bytes.Equal(got, cur) {
		t.Errorf("PCR 7 changed: the same db certificate verifies the new image")
	}
	img.Verifies = func(*x509.Certificate) bool { return false }
	if _, err := Predict(l, WithImage(img)); !errors.Is(err, ErrWouldNotBoot) || !strings.Contains(err.Error(), "no db entry verifies new.efi") {
		t.Errorf("an image no db entry verifies: %v", err)
	}
}

// TestPreconditionFails: an entry whose --expect does not hold for the
// value the log shows will be refused by the commit (a conflict): the
// prediction says so instead of assuming the write.
func TestPreconditionFails(t *testing.T) {
	l := ovmfLog(t)
	lo, _ := (&efi.LoadOption{Attributes: 1, Description: "x", FilePath: []byte{0x7f, 0xff, 4, 0}}).Marshal()
	c := set("journal j entry 1 (set Boot0001)", efi.BootEntry(1), efi.DefaultAttr, lo)
	c.Expect = journal.Expect{Kind: journal.ExpectAbsent}
	_, err := Predict(l, WithChanges(c))
	if !errors.Is(err, ErrUnpredictable) || !strings.Contains(err.Error(), "journal j entry 1 (set Boot0001): its precondition does not hold") {
		t.Fatalf("%v", err)
	}
	c.Expect = journal.ExpectData([]byte("not the value"))
	if _, err := Predict(l, WithChanges(c)); !errors.Is(err, ErrUnpredictable) {
		t.Fatalf("expect-value: %v", err)
	}
}
