package nextboot

import (
	"bytes"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/tpm"
)

func reportPrediction() *Prediction {
	p := &Prediction{Banks: []tpm.Alg{tpm.SHA1, tpm.SHA256}, PCRs: tpm.NewPCRs(), Changed: []int{1, 7},
		Unpredictable: map[int]string{12: "no log", 4: "unsigned image"}}
	p.PCRs.Set(tpm.SHA256, 9, bytes.Repeat([]byte{0x99}, 32))
	p.PCRs.Set(tpm.SHA256, 1, bytes.Repeat([]byte{0x11}, 32))
	return p
}

func TestReportText(t *testing.T) {
	p := reportPrediction()
	if got, want := p.Report("fw.bin").String(), "next boot predicted from fw.bin: PCRs 1,7 change; PCR 4 cannot be predicted: unsigned image; PCR 12 cannot be predicted: no log"; got != want {
		t.Errorf("Report:\n%s\nwant\n%s", got, want)
	}
	if got, want := (&Report{Log: "l", Changed: []int{}}).String(), "next boot predicted from l: no PCR changes"; got != want {
		t.Errorf("no change: %q, want %q", got, want)
	}
	want := "next boot predicted from fw.bin, banks sha1,sha256: PCRs changed [1 7]\n" +
		"PCR 4 cannot be predicted: unsigned image\nPCR 12 cannot be predicted: no log\n" +
		"PCR values at the hand-over to the booted image's kernel:\nsha256:\n" +
		"   1: " + string(bytes.Repeat([]byte("11"), 32)) + "\n   9: " + string(bytes.Repeat([]byte("99"), 32)) + "\n"
	if got := p.Text("fw.bin"); got != want {
		t.Errorf("Text:\n%s\nwant\n%s", got, want)
	}
}

// TestLaunchStart: PCR 8 at reset, PCR 9 as predicted (reset where the
// prediction has none), in every bank; nothing when PCR 9 is unknown.
func TestLaunchStart(t *testing.T) {
	p := reportPrediction()
	s := p.LaunchStart()
	for _, c := range []struct {
		bank tpm.Alg
		pcr  int
		want []byte
	}{
		{tpm.SHA1, 8, make([]byte, 20)}, {tpm.SHA1, 9, make([]byte, 20)},
		{tpm.SHA256, 8, make([]byte, 32)}, {tpm.SHA256, 9, bytes.Repeat([]byte{0x99}, 32)},
	} {
		if got, ok := s.Get(c.bank, c.pcr); !ok || !bytes.Equal(got, c.want) {
			t.Errorf("%s PCR %d = %x, want %x", c.bank, c.pcr, got, c.want)
		}
	}
	if got := len(s.Indices(tpm.SHA256)); got != 2 {
		t.Errorf("%d PCRs, want 8 and 9 only", got)
	}
	p.Unpredictable[9] = "unknown stub"
	if p.LaunchStart() != nil {
		t.Error("a start without PCR 9's value")
	}
}

// TestWithVars: a variable v holds is read as it is, a missing one is
// nil without an error.
func TestWithVars(t *testing.T) {
	st := efitest.New(efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}))
	c := &config{}
	WithVars(st.Vars())(c)
	x, err := c.read(efi.BootOrder)
	if err != nil || x == nil || !bytes.Equal(x.Data, []byte{1, 0}) {
		t.Fatalf("BootOrder: %+v %v", x, err)
	}
	if x, err := c.read(efi.BootEntry(7)); x != nil || err != nil {
		t.Fatalf("a missing Boot0007: %+v %v", x, err)
	}
}
