package launch

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

var allBanks = []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}

// TestPredictIndependent checks Predict against PCR values computed here
// with the stdlib hashes, from the profile as the README states it:
// PCR 8 = E(E(0, H(policy)), H(cmdline)), PCR 9 = E(E(0, H(kernel)), H(initrd)),
// with E(p, d) = H(p ‖ d) and the command line hashed without a NUL.
func TestPredictIndependent(t *testing.T) {
	kernel := []byte("MZ fake kernel image \x00\x01\x02")
	initrd := genImage{seed: 7, size: 3<<20 + 5}
	cmdline := `console=ttyS0 root="/dev/vda 1" msg='héllo wörld' ☃`
	pol := []byte(`{"payloadType":"x","payload":"","signatures":[]}` + "\n")
	e := &Entry{
		Kernel:  Image{R: bytes.NewReader(kernel), Size: int64(len(kernel))},
		Initrd:  &Image{R: initrd, Size: initrd.size},
		Cmdline: cmdline,
		Policy:  pol,
	}
	p, err := Predict(e, MeasuredProfile(), allBanks)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allBanks {
		zero := make([]byte, a.Size())
		hk := stdSum(t, a, bytes.NewReader(kernel))
		hi := stdSum(t, a, io.NewSectionReader(initrd, 0, initrd.size))
		hc := stdSum(t, a, strings.NewReader(cmdline))
		hp := stdSum(t, a, bytes.NewReader(pol))
		want8 := stdExtend(a, stdExtend(a, zero, hp), hc)
		want9 := stdExtend(a, stdExtend(a, zero, hk), hi)
		if got, _ := p.PCRs.Get(a, 8); !bytes.Equal(got, want8) {
			t.Errorf("%s PCR 8 = %x, want %x", a, got, want8)
		}
		if got, _ := p.PCRs.Get(a, 9); !bytes.Equal(got, want9) {
			t.Errorf("%s PCR 9 = %x, want %x", a, got, want9)
		}
		for i, want := range [][]byte{hp, hk, hi, hc} {
			if got := p.Events[i].Digests[a]; !bytes.Equal(got, want) {
				t.Errorf("%s event %d digest %x, want %x", a, i+1, got, want)
			}
		}
	}
	if len(p.PCRs.Indices(tpm.SHA256)) != 2 {
		t.Errorf("prediction holds PCRs %v, want 8 and 9", p.PCRs.Indices(tpm.SHA256))
	}
	type ev struct {
		pcr  int
		typ  tpm.EventType
		data string
	}
	want := []ev{{8, 0x0D, "launch-policy"}, {9, 0x0D, "kernel"}, {9, 0x0D, "initrd"}, {8, 0x0D, "cmdline"}}
	if len(p.Events) != len(want) {
		t.Fatalf("%d events, want %d", len(p.Events), len(want))
	}
	for i, w := range want {
		g := p.Events[i]
		if g.PCR != w.pcr || g.Type != w.typ || string(g.Data) != w.data || g.Index != i+1 {
			t.Errorf("event %d = {index %d, PCR %d, %s, %q}, want {%d, %d, %s, %q}", i, g.Index, g.PCR, g.Type, g.Data, i+1, w.pcr, w.typ, w.data)
		}
	}
}

// TestPredictEventLogBytes checks the binary log of a prediction against a
// TCG_PCR_EVENT2 record laid out by hand (PFP §10.2.2, Table 11): PCR
// index, event type, digest count, (algorithm ID, digest)…, event size,
// event data, all little-endian.
func TestPredictEventLogBytes(t *testing.T) {
	e := &Entry{Kernel: Image{R: strings.NewReader("k"), Size: 1}, Cmdline: ""}
	p, err := Predict(e, MeasuredProfile(), []tpm.Alg{tpm.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	l, err := p.EventLog()
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	rec := func(pcr uint32, measured, data string) []byte {
		var r []byte
		r = binary.LittleEndian.AppendUint32(r, pcr)
		r = binary.LittleEndian.AppendUint32(r, 0x0000000D) // EV_IPL
		r = binary.LittleEndian.AppendUint32(r, 1)          // one digest
		r = binary.LittleEndian.AppendUint16(r, 0x000B)     // TPM_ALG_SHA256
		r = append(r, stdSum(t, tpm.SHA256, strings.NewReader(measured))...)
		r = binary.LittleEndian.AppendUint32(r, uint32(len(data)))
		return append(r, data...)
	}
	want := append(rec(9, "k", "kernel"), rec(8, "", "cmdline")...)
	if !bytes.HasSuffix(b, want) {
		t.Fatalf("log ends with\n%x\nwant\n%x", b[len(b)-min(len(b), len(want)):], want)
	}
	// The header before the records is the Spec ID event for sha256 only.
	if !bytes.Contains(b[:len(b)-len(want)], []byte("Spec ID Event03\x00")) {
		t.Fatal("no Spec ID Event03 header")
	}
	// The empty command line is measured as the empty string: SHA-256("").
	if got := p.Events[1].Digests[tpm.SHA256].String(); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty cmdline digest %s", got)
	}
}

func TestPredictJSONIsExpected(t *testing.T) {
	e := &Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Cmdline: "quiet"}
	p, err := Predict(e, MeasuredProfile(), []tpm.Alg{tpm.SHA256, tpm.SHA384})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var x tpm.Expected
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	for _, a := range []tpm.Alg{tpm.SHA256, tpm.SHA384} {
		for _, i := range []int{8, 9} {
			got, _ := x.Get(a, i)
			want, _ := p.PCRs.Get(a, i)
			if !got.Equal(want) || len(got) != a.Size() {
				t.Errorf("%s PCR %d: JSON %s, prediction %s", a, i, got, want)
			}
		}
	}
	if len(x.Events) != 2 || x.Events[0].Description() != "kernel" || x.Events[1].Description() != "cmdline" {
		t.Fatalf("events %+v", x.Events)
	}
}

func TestPredictStart(t *testing.T) {
	e := &Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Cmdline: "quiet"}
	start := tpm.NewPCRs()
	s8 := bytes.Repeat([]byte{0x11}, 32)
	start.Set(tpm.SHA256, 8, s8)
	if _, err := Predict(e, MeasuredProfile(), []tpm.Alg{tpm.SHA256}, WithStart(start)); !errors.Is(err, ErrStart) {
		t.Fatalf("start without PCR 9: %v, want ErrStart", err)
	}
	s9 := bytes.Repeat([]byte{0x22}, 32)
	start.Set(tpm.SHA256, 9, s9)
	s0 := bytes.Repeat([]byte{0x33}, 32)
	start.Set(tpm.SHA256, 0, s0)
	p, err := Predict(e, MeasuredProfile(), []tpm.Alg{tpm.SHA256}, WithStart(start))
	if err != nil {
		t.Fatal(err)
	}
	want8 := stdExtend(tpm.SHA256, s8, stdSum(t, tpm.SHA256, strings.NewReader("quiet")))
	want9 := stdExtend(tpm.SHA256, s9, stdSum(t, tpm.SHA256, strings.NewReader("kernel")))
	g8, _ := p.PCRs.Get(tpm.SHA256, 8)
	g9, _ := p.PCRs.Get(tpm.SHA256, 9)
	g0, _ := p.PCRs.Get(tpm.SHA256, 0)
	if !bytes.Equal(g8, want8) || !bytes.Equal(g9, want9) || !bytes.Equal(g0, s0) {
		t.Fatalf("PCR 8 %x, 9 %x, 0 %x", g8, g9, g0)
	}
}

func TestEntryValidation(t *testing.T) {
	k := Image{R: strings.NewReader("kernel"), Size: 6, Name: "/boot/k"}
	for _, tc := range []struct {
		name string
		e    Entry
		msg  string
	}{
		{"nul in cmdline", Entry{Kernel: k, Cmdline: "a\x00b"}, "NUL byte at offset 1"},
		{"bad utf8", Entry{Kernel: k, Cmdline: "a\xffb"}, "not valid UTF-8"},
		{"no kernel", Entry{}, "kernel: no image"},
		{"empty kernel", Entry{Kernel: Image{R: strings.NewReader(""), Name: "/boot/k"}}, "kernel /boot/k: empty image"},
		{"truncated kernel", Entry{Kernel: Image{R: strings.NewReader("kern"), Size: 6, Name: "/boot/k"}}, "kernel /boot/k: read 4 of 6 bytes"},
		{"truncated initrd", Entry{Kernel: k, Initrd: &Image{R: genImage{size: 3 << 20}, Size: 4 << 20, Name: "/i"}}, "initrd /i: read 3145728 of 4194304 bytes"},
	} {
		_, err := Predict(&tc.e, MeasuredProfile(), []tpm.Alg{tpm.SHA256, tpm.SHA1})
		if !errors.Is(err, ErrEntry) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want ErrEntry with %q", tc.name, err, tc.msg)
		}
	}
}

func TestProfileValidate(t *testing.T) {
	if err := MeasuredProfile().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := ProfileByName("drtm-v9"); !errors.Is(err, ErrProfile) {
		t.Fatalf("unknown profile: %v", err)
	}
	bad := MeasuredProfile()
	bad.Steps = append(bad.Steps, Step{Component: Kernel, PCR: 10, Type: tpm.EvIPL, Description: "again"})
	if err := bad.Validate(); !errors.Is(err, ErrProfile) || !strings.Contains(err.Error(), "measured twice") {
		t.Fatalf("duplicate component: %v", err)
	}
	bad = MeasuredProfile()
	bad.Steps[1].PCR = 24
	if err := bad.Validate(); !errors.Is(err, ErrProfile) {
		t.Fatalf("PCR 24: %v", err)
	}
	if got := MeasuredProfile().PCRs(); len(got) != 2 || got[0] != 8 || got[1] != 9 {
		t.Fatalf("PCRs %v", got)
	}
}
