package slaunch

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestLeaveOnSwtpm: a launched OS leaves the launch. PCR 17 and 18 are
// the launch's values extended with SHA-256("slkit: leave dynamic
// launch") (computed here with crypto/sha256), the log with the two
// events appended replays to them, the host was told, the locality is
// gone (PCR 17 refuses extends), and a secret sealed to the launch is
// refused naming PCR 17 and the leave event. A second launch (the DCE
// event the leave allows) resets PCR 17/18 and the secret unseals again.
func TestLeaveOnSwtpm(t *testing.T) {
	tt := tpmtest.RequireSwtpm(t)
	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	h := &slaunchtest.Host{TPM: ctl}
	client, _ := h.Pipe(t)
	kernel := append(slaunchtest.Kernel(0x020F, 0x10, 0), bytes.Repeat([]byte{0x5a}, 4096)...)
	images := func() Images {
		return Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)), Cmdline: "console=ttyS0"}
	}
	l, err := LaunchEmulated(tt, client, images())
	if err != nil {
		t.Fatal(err)
	}
	x := l.Stage.Prediction.Expected()
	pol, err := tpm.PolicyFor(tpm.SHA256, []int{17, 18}, &x.PCRs)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpm.Seal(tt, []byte("launch secret"), pol, tpm.WithExpectedEvents(x.Events))
	if err != nil {
		t.Fatal(err)
	}
	before, err := tpm.ReadBanks(tt, []tpm.Alg{tpm.SHA256}, []int{17, 18})
	if err != nil {
		t.Fatal(err)
	}

	left, err := Leave(tt, l.Log, client)
	if err != nil {
		t.Fatal(err)
	}
	if h.Leaves() != 1 {
		t.Fatalf("the host saw %d leaves", h.Leaves())
	}
	after, err := tpm.ReadBanks(tt, []tpm.Alg{tpm.SHA256}, []int{17, 18})
	if err != nil {
		t.Fatal(err)
	}
	ev := sha256.Sum256([]byte("slkit: leave dynamic launch"))
	for _, i := range []int{17, 18} {
		b, _ := before.Get(tpm.SHA256, i)
		want := sha256.Sum256(append(append([]byte(nil), b...), ev[:]...))
		if got, _ := after.Get(tpm.SHA256, i); !bytes.Equal(got, want[:]) {
			t.Errorf("PCR %d after the leave = %x, want %x", i, got, want)
		}
	}
	parsed, err := tpm.ParseEventLog(left.Log)
	if err != nil {
		t.Fatal(err)
	}
	n := len(parsed.Events)
	if n < 2 || parsed.Events[n-2].PCR != 17 || parsed.Events[n-1].PCR != 18 ||
		string(parsed.Events[n-1].Data) != "slkit: leave dynamic launch" || parsed.Events[n-1].Type != 0x502 {
		t.Fatalf("the log's last events: %+v", parsed.Events[max(0, n-2):])
	}
	if err := VerifyDRTM(tt, parsed); err != nil {
		t.Fatalf("the log with the leave events: %v", err)
	}
	banks, err := tpm.ActiveBanks(tt)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(banks)
	want := `left the dynamic launch: PCR 17 and 18 extended with "slkit: leave dynamic launch" (banks ` + tpm.AlgList(banks) +
		"); DRTM log with the leave events: /run/x; nothing sealed to this launch unseals until the next dynamic launch\n"
	if got := left.Text("/run/x"); got != want {
		t.Errorf("Text: %q, want %q", got, want)
	}
	// The DCE's log pointer in the header says where the next record goes.
	if vi := parsed.SpecID.VendorInfo; len(vi) != 20 || binary.LittleEndian.Uint32(vi[16:]) != uint32(len(left.Log)) {
		t.Errorf("LOG_POINTER2_1 %x: next_record_offset is not the log's length %d", vi, len(left.Log))
	}
	if _, err := tpm.ExtendData(tt, 17, []tpm.Alg{tpm.SHA256}, strings.NewReader("x")); !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("PCR 17 extend after the leave: %v, want TPM_RC_LOCALITY", err)
	}
	_, err = tpm.Unseal(tt, s, tpm.WithEventLogs(parsed))
	var ref *tpm.UnsealRefusal
	if want := fmt.Sprintf(`PCR 17: extra event %d "slkit: leave dynamic launch"`, parsed.Events[n-2].Index); !errors.As(err, &ref) || !strings.Contains(err.Error(), want) {
		t.Fatalf("unseal after the leave: %v", err)
	}

	// Leaving again outside a launch: the TPM refuses at locality 0.
	if _, err := Leave(tt, left.Log, client); !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("leave outside a launch: %v", err)
	}
	// A malformed log: refused before anything is extended.
	pcr17 := func() tpm.Digest {
		p, err := tpm.ReadBanks(tt, []tpm.Alg{tpm.SHA256}, []int{17})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := p.Get(tpm.SHA256, 17)
		return v
	}
	cur := pcr17()
	if _, err := Leave(tt, []byte("not a log"), client); !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed log: %v", err)
	}
	if !pcr17().Equal(cur) {
		t.Fatal("a refused leave extended PCR 17")
	}

	// The relaunch the leave allows resets PCR 17/18: the secret unseals.
	if _, err := LaunchEmulated(tt, client, images()); err != nil {
		t.Fatal(err)
	}
	if got, err := tpm.Unseal(tt, s); err != nil || string(got) != "launch secret" {
		t.Fatalf("unseal after the relaunch: %q %v", got, err)
	}
}
