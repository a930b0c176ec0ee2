package launch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// stdChain is E(…E(E(0, d1), d2)…) with E(p, d) = H(p ‖ d), stdlib only.
func stdChain(a tpm.Alg, ds ...[]byte) []byte {
	pcr := make([]byte, a.Size())
	for _, d := range ds {
		pcr = stdExtend(a, pcr, d)
	}
	return pcr
}

// TestPredictPinned: an entry whose images are given by pinned SHA-256
// digests only (what a signed policy pins) predicts the SHA-256 bank as
// the images' bytes do, refuses another bank (ErrNeedImage) instead of
// guessing, and an image that is read must match its pin.
func TestPredictPinned(t *testing.T) {
	kernel, initrd, cmdline, pol := []byte("pinned kernel"), bytes.Repeat([]byte("r"), 5000), "quiet", []byte("signed policy")
	pin := func(b []byte) tpm.Digests { return tpm.Digests{tpm.SHA256: stdSum(t, tpm.SHA256, bytes.NewReader(b))} }
	pinned := &Entry{Kernel: Image{Name: "/boot/k", Pinned: pin(kernel)}, Initrd: &Image{Name: "/boot/i", Pinned: pin(initrd)},
		Cmdline: cmdline, Policy: pol}
	p, err := Predict(pinned, MeasuredProfile(), []tpm.Alg{tpm.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	a := tpm.SHA256
	want8 := stdChain(a, stdSum(t, a, bytes.NewReader(pol)), stdSum(t, a, strings.NewReader(cmdline)))
	want9 := stdChain(a, stdSum(t, a, bytes.NewReader(kernel)), stdSum(t, a, bytes.NewReader(initrd)))
	if g8, _ := p.PCRs.Get(a, 8); !bytes.Equal(g8, want8) {
		t.Errorf("PCR 8 %x, want %x", g8, want8)
	}
	if g9, _ := p.PCRs.Get(a, 9); !bytes.Equal(g9, want9) {
		t.Errorf("PCR 9 %x, want %x", g9, want9)
	}
	for _, b := range []tpm.Alg{tpm.SHA1, tpm.SHA384, tpm.SHA512} {
		_, err := Predict(pinned, MeasuredProfile(), []tpm.Alg{tpm.SHA256, b})
		if !errors.Is(err, ErrNeedImage) || !strings.Contains(err.Error(), "kernel /boot/k: only its sha256 is pinned; a "+b.String()+" digest") {
			t.Errorf("%s from a pin: %v", b, err)
		}
	}
	if _, err := PredictEmulatedDRTM(pinned, MeasuredProfile(), []tpm.Alg{tpm.SHA256}); !errors.Is(err, ErrNeedImage) {
		t.Errorf("DRTM prediction from pins: %v", err)
	}
	// Read and pinned: the bytes must match the pin, in every bank asked.
	read := &Entry{Kernel: Image{R: bytes.NewReader(kernel), Size: int64(len(kernel)), Name: "/boot/k", Pinned: pin(kernel)},
		Cmdline: cmdline}
	p, err = Predict(read, MeasuredProfile(), []tpm.Alg{tpm.SHA384})
	if err != nil {
		t.Fatal(err)
	}
	if g9, _ := p.PCRs.Get(tpm.SHA384, 9); !bytes.Equal(g9, stdChain(tpm.SHA384, stdSum(t, tpm.SHA384, bytes.NewReader(kernel)))) {
		t.Errorf("sha384 PCR 9 from a read, pinned image: %x", g9)
	}
	read.Kernel.Pinned = pin([]byte("another kernel"))
	if _, err := Predict(read, MeasuredProfile(), []tpm.Alg{tpm.SHA384}); !errors.Is(err, ErrImageMismatch) || !strings.Contains(err.Error(), "kernel /boot/k: sha256") {
		t.Errorf("image that does not match its pin: %v", err)
	}
}

// TestPredictAfter: a launch predicted WithAfter another continues its
// log (events numbered on) and its PCR values, as the stdlib chain of all
// eight events from the start values does.
func TestPredictAfter(t *testing.T) {
	a := tpm.SHA512
	entries := []*Entry{
		{Kernel: Image{R: strings.NewReader("k1"), Size: 2}, Initrd: &Image{R: strings.NewReader("i1"), Size: 2}, Cmdline: "c1", Policy: []byte("p1")},
		{Kernel: Image{R: strings.NewReader("k2"), Size: 2}, Initrd: &Image{R: strings.NewReader("i2"), Size: 2}, Cmdline: "c2", Policy: []byte("p2")},
	}
	start := tpm.NewPCRs()
	s8, s9 := bytes.Repeat([]byte{8}, a.Size()), bytes.Repeat([]byte{9}, a.Size())
	start.Set(a, 8, s8)
	start.Set(a, 9, s9)
	first, err := Predict(entries[0], MeasuredProfile(), []tpm.Alg{a}, WithStart(start))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Predict(entries[1], MeasuredProfile(), []tpm.Alg{a}, WithAfter(first))
	if err != nil {
		t.Fatal(err)
	}
	h := func(s string) []byte { return stdSum(t, a, strings.NewReader(s)) }
	want8, want9 := s8, s9
	for _, x := range []string{"p1", "c1", "p2", "c2"} {
		want8 = stdExtend(a, want8, h(x))
	}
	for _, x := range []string{"k1", "i1", "k2", "i2"} {
		want9 = stdExtend(a, want9, h(x))
	}
	if g, _ := second.PCRs.Get(a, 8); !bytes.Equal(g, want8) {
		t.Errorf("PCR 8 %x, want %x", g, want8)
	}
	if g, _ := second.PCRs.Get(a, 9); !bytes.Equal(g, want9) {
		t.Errorf("PCR 9 %x, want %x", g, want9)
	}
	var got []string
	for _, e := range second.Events {
		got = append(got, fmt.Sprintf("%d:%s", e.Index, e.Data))
	}
	if s := strings.Join(got, " "); s != "1:launch-policy 2:kernel 3:initrd 4:cmdline 5:launch-policy 6:kernel 7:initrd 8:cmdline" {
		t.Errorf("events %s", s)
	}
	if _, err := Predict(entries[1], MeasuredProfile(), []tpm.Alg{tpm.SHA256}, WithAfter(first)); !errors.Is(err, ErrStart) {
		t.Errorf("after a prediction in other banks: %v", err)
	}
}

// TestPredictComponent: the one event that measures an initrd, from its
// bytes or from its pinned digests, and the PCR after it from zero.
func TestPredictComponent(t *testing.T) {
	data := bytes.Repeat([]byte("archive"), 999)
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}
	ds := tpm.Digests{}
	for _, a := range banks {
		ds[a] = stdSum(t, a, bytes.NewReader(data))
	}
	for _, im := range []Image{{R: bytes.NewReader(data), Size: int64(len(data))}, {Pinned: ds}} {
		p, err := PredictComponent(MeasuredProfile(), Initrd, im, banks)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != 1 || p.Events[0].PCR != 9 || p.Events[0].Type != tpm.EvIPL || string(p.Events[0].Data) != "initrd" {
			t.Fatalf("events %+v", p.Events)
		}
		for _, a := range banks {
			if !p.Events[0].Digests[a].Equal(ds[a]) {
				t.Errorf("%s event digest %s", a, p.Events[0].Digests[a])
			}
			if g, _ := p.PCRs.Get(a, 9); !bytes.Equal(g, stdChain(a, ds[a])) {
				t.Errorf("%s PCR 9 %x", a, g)
			}
		}
	}
	if _, err := PredictComponent(MeasuredProfile(), Cmdline, Image{Pinned: ds}, banks); !errors.Is(err, ErrEntry) {
		t.Errorf("a command line is not an image: %v", err)
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestPredictEmulatedDRTMReadsOnce: the DRTM prediction takes the DLME's
// and the initrd's digests from the walk, as the launch takes them from
// Measure: each image is read once (the kernel plus its boot header).
func TestPredictEmulatedDRTMReadsOnce(t *testing.T) {
	f := newDRTMFixture(t)
	k := &countingReaderAt{r: bytes.NewReader(f.kernel)}
	i := &countingReaderAt{r: bytes.NewReader(f.initrd)}
	e := &Entry{Kernel: Image{R: k, Size: int64(len(f.kernel))}, Initrd: &Image{R: i, Size: int64(len(f.initrd))}, Cmdline: drtmCmdline}
	if _, err := PredictEmulatedDRTM(e, MeasuredProfile(), []tpm.Alg{tpm.SHA256, tpm.SHA384}); err != nil {
		t.Fatal(err)
	}
	if n := k.n.Load(); n < int64(len(f.kernel)) || n > int64(len(f.kernel))+64<<10 {
		t.Errorf("kernel: %d bytes read for a %d-byte image", n, len(f.kernel))
	}
	if n := i.n.Load(); n != int64(len(f.initrd)) {
		t.Errorf("initrd: %d bytes read for a %d-byte image", n, len(f.initrd))
	}
}
