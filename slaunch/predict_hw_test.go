package slaunch

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

// TestPredictSKINIT: a real SKL extends and logs SHA-1 and SHA-256 only,
// so in an active SHA-384 bank PCR17 holds only SKINIT's own measurement
// and PCR18 stays 0.
func TestPredictSKINIT(t *testing.T) {
	skl, err := ParseSKL(slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000))
	if err != nil {
		t.Fatal(err)
	}
	kernel := slaunchtest.Kernel(0x020F, 0x14, 0x200)
	entry, dlme, mle, err := LinuxDLME(bytes.NewReader(kernel), int64(len(kernel)))
	if err != nil {
		t.Fatal(err)
	}
	if entry != 0x300 || dlme.Size() != 0x1800 || mle.Capabilities != 0x227 {
		t.Fatalf("LinuxDLME: entry %#x size %#x", entry, dlme.Size())
	}
	pol, _ := profilePolicy(5, 0, false)
	slrt := &SLRT{Arch: ArchSKINIT, Entries: []SLREntry{pol, emuAMDInfo()}}
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384}
	p, err := PredictSKINIT(SKINITInput{SKL: skl, DLMEEntry: entry, DLME: dlme, SLRT: slrt, Cmdline: "quiet"}, banks)
	if err != nil {
		t.Fatal(err)
	}
	slb := slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000)[:0x1800]
	pm := kernel[1024 : 1024+0x1800] // protected-mode code up to the MLE end
	le := []byte{0x00, 0x03, 0, 0}
	for _, a := range []tpm.Alg{tpm.SHA1, tpm.SHA256} {
		if got, _ := p.PCRs.Get(a, 17); !bytes.Equal(got, chain(a, slb, le, pm)) {
			t.Errorf("%s PCR17 %x", a, got)
		}
		if got, _ := p.PCRs.Get(a, 18); !bytes.Equal(got, chain(a, slaunchtest.EmulatedMeasuredAMDInfo(), []byte("quiet"))) {
			t.Errorf("%s PCR18 %x", a, got)
		}
	}
	if got, _ := p.PCRs.Get(tpm.SHA384, 17); !bytes.Equal(got, chain(tpm.SHA384, slb)) {
		t.Errorf("sha384 PCR17 must be SKINIT's measurement only: %x", got)
	}
	if got, _ := p.PCRs.Get(tpm.SHA384, 18); !bytes.Equal(got, make([]byte, 48)) {
		t.Errorf("sha384 PCR18 must stay 0: %x", got)
	}
	if len(p.LogBanks) != 2 {
		t.Errorf("log banks %v", p.LogBanks)
	}
	l, err := p.Log(EmuLogBase, EmuLogSize)
	if err != nil {
		t.Fatalf("the log of a SHA-1/SHA-256 SKL: %v", err)
	}
	if got := l.Algs(); len(got) != 2 {
		t.Errorf("log banks %v", got)
	}
	if _, _, _, err := LinuxDLME(bytes.NewReader(slaunchtest.Kernel(0x020F, 0x10, 0)), 9216); !errors.Is(err, ErrNoMLEHeader) {
		t.Errorf("LinuxDLME of a kernel without MLE: %v", err)
	}
}

// testACMLog builds the ACM's part of a TXT DRTM log: HASH_START, MLE_HASH
// on PCR17 and the SINIT public key on PCR18, with fixed digests.
func testACMLog(t *testing.T, mle []byte) *tpm.EventLog {
	t.Helper()
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256}
	l, err := tpm.NewEventLog(banks)
	if err != nil {
		t.Fatal(err)
	}
	d := func(b byte) tpm.Digests {
		return tpm.Digests{tpm.SHA1: bytes.Repeat([]byte{b}, 20), tpm.SHA256: bytes.Repeat([]byte{b}, 32)}
	}
	mh := tpm.Digests{tpm.SHA1: sum(tpm.SHA1, mle), tpm.SHA256: sum(tpm.SHA256, mle)}
	for _, e := range []struct {
		pcr int
		typ tpm.EventType
		ds  tpm.Digests
	}{{17, 0x402, d(1)}, {18, 0x410, d(2)}, {17, 0x404, mh}} {
		if _, err := l.Append(e.pcr, e.typ, e.ds, nil); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestPredictTXT(t *testing.T) {
	mle := bytes.Repeat([]byte("MLE"), 1000)
	log := testACMLog(t, mle)
	x := IntelInfo{TXTHeap: 0x8fe00000, MiscEnableMSR: 0x850089}
	pol, _ := profilePolicy(5, 0, false)
	slrt := &SLRT{Arch: ArchTXT, Entries: []SLREntry{pol, x}}
	p, err := PredictTXT(TXTInput{ACMLog: log, MLE: bytes.NewReader(mle), SLRT: slrt, Cmdline: "quiet"})
	if err != nil {
		t.Fatal(err)
	}
	x.TXTHeap = 0
	measured, _ := marshalEntry(x)
	for _, a := range []tpm.Alg{tpm.SHA1, tpm.SHA256} {
		one := bytes.Repeat([]byte{1}, a.Size())
		two := bytes.Repeat([]byte{2}, a.Size())
		want17 := sum(a, sum(a, make([]byte, a.Size()), one), sum(a, mle))
		want18 := sum(a, sum(a, sum(a, make([]byte, a.Size()), two), sum(a, measured)), sum(a, []byte("quiet")))
		if got, _ := p.PCRs.Get(a, 17); !bytes.Equal(got, want17) {
			t.Errorf("%s PCR17 %x, want %x", a, got, want17)
		}
		if got, _ := p.PCRs.Get(a, 18); !bytes.Equal(got, want18) {
			t.Errorf("%s PCR18 %x, want %x", a, got, want18)
		}
	}
	if p.Events[0].By != ActorTPM || p.Events[1].By != ActorACM || p.Events[3].By != ActorDLME {
		t.Errorf("actors %+v", p.Events)
	}
	if post := p.PostLaunch(); len(post) != 2 || post[0].By != ActorDLME {
		t.Errorf("PostLaunch of a TXT launch must hold the DLME's events only: %+v", post)
	}
	if err := ExtendEvents(nil, p.Events[1:2]); err == nil || !strings.Contains(err.Error(), "software never extends it") {
		t.Errorf("extending an ACM event: %v", err)
	}
	_, err = PredictTXT(TXTInput{ACMLog: log, MLE: strings.NewReader("another MLE"), SLRT: slrt, Cmdline: "quiet"})
	if !errors.Is(err, ErrPredict) || !strings.Contains(err.Error(), "the ACM measured a different MLE") {
		t.Errorf("another MLE: %v", err)
	}
	empty, _ := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	if _, err := PredictTXT(TXTInput{ACMLog: empty, SLRT: slrt}); !errors.Is(err, ErrPredict) {
		t.Errorf("an empty ACM log: %v", err)
	}
	bad := &SLRT{Arch: ArchTXT, Entries: []SLREntry{EntryPolicy{Revision: 1, Entries: []PolicyEntry{
		mustPolicyEntry(t, 18, EntityBootParams, 0, 0x1000, 4096, "Measured boot parameters")}}, x}}
	if _, err := PredictTXT(TXTInput{ACMLog: log, SLRT: bad}); !errors.Is(err, ErrPredict) || !strings.Contains(err.Error(), "depends on the running loader") {
		t.Errorf("a boot_params policy entry: %v", err)
	}
}
