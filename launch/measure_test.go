package launch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

const (
	ccGetCapability = 0x0000017A
	ccPCRExtend     = 0x00000182
)

func entryTable() []struct {
	name string
	e    func() *Entry
} {
	kernel := genImage{seed: 1, size: 5<<20 + 3}
	return []struct {
		name string
		e    func() *Entry
	}{
		{"no initrd", func() *Entry {
			return &Entry{Kernel: kernel.image("/boot/vmlinuz"), Cmdline: "console=ttyS0 quiet"}
		}},
		{"200 MiB initrd", func() *Entry {
			i := genImage{seed: 2, size: 200 << 20}.image("/boot/initrd.img")
			return &Entry{Kernel: kernel.image("/boot/vmlinuz"), Initrd: &i, Cmdline: "console=ttyS0"}
		}},
		{"empty cmdline", func() *Entry {
			i := genImage{seed: 3, size: 4096}.image("/boot/initrd.img")
			return &Entry{Kernel: kernel.image("/boot/vmlinuz"), Initrd: &i, Cmdline: ""}
		}},
		{"utf8 cmdline with spaces and quotes", func() *Entry {
			return &Entry{Kernel: kernel.image("/boot/vmlinuz"), Policy: []byte("{\"policy\":1}\n"),
				Cmdline: `root=LABEL="my root" init='/sbin/init --x' name=Grüße "☃ snow" \"esc\"`}
		}},
	}
}

// TestPredictEqualsMeasure: for each entry,
// Predict equals the PCR values read back after Measure, in every active
// bank, and the log Measure writes replays to the TPM.
func TestPredictEqualsMeasure(t *testing.T) {
	for _, tc := range entryTable() {
		t.Run(tc.name, func(t *testing.T) {
			tt := tpmtest.Open(t)
			banks, err := tpm.ActiveBanks(tt)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s TPM, active banks %v", tt.Backend, banks)
			start, err := tpm.ReadBanks(tt, banks, []int{8, 9})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range banks {
				for _, i := range []int{8, 9} {
					if v, _ := start.Get(a, i); !v.Equal(tpm.ZeroDigest(a)) {
						t.Fatalf("fresh TPM: %s PCR %d = %s", a, i, v)
					}
				}
			}
			pred, err := Predict(tc.e(), MeasuredProfile(), banks)
			if err != nil {
				t.Fatal(err)
			}
			logPath := filepath.Join(t.TempDir(), "run", "slkit", "eventlog.bin")
			m, err := Measure(tt, tc.e(), MeasuredProfile(), WithLogFile(logPath))
			if err != nil {
				t.Fatal(err)
			}
			assertPredicted(t, tt, banks, pred)
			if len(m.Events) != len(pred.Events) {
				t.Fatalf("measured %d events, predicted %d", len(m.Events), len(pred.Events))
			}
			for i := range m.Events {
				pm, pp := m.Events[i], pred.Events[i]
				if pm.PCR != pp.PCR || pm.Type != pp.Type || !bytes.Equal(pm.Data, pp.Data) || pm.Index != pp.Index {
					t.Errorf("event %d: measured %+v, predicted %+v", i, pm, pp)
				}
			}
			b, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			l, err := tpm.ParseEventLog(b)
			if err != nil {
				t.Fatal(err)
			}
			v, err := tpm.VerifyEventLog(tt, l)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Err(); err != nil || len(v.SkippedBanks) != 0 || len(v.Replayed.Algs()) != len(banks) {
				t.Fatalf("log does not replay to the TPM in every bank: %v (skipped %v)", err, v.SkippedBanks)
			}
			// The predicted binary log is the log Measure wrote (same header, same records).
			pl, err := pred.EventLog()
			if err != nil {
				t.Fatal(err)
			}
			pb, _ := pl.MarshalBinary()
			if !bytes.Equal(pb, b) {
				t.Errorf("predicted log (%d bytes) differs from the written one (%d bytes)", len(pb), len(b))
			}
		})
	}
}

// assertPredicted compares PCRs 8 and 9 of the TPM with the prediction in
// every bank.
func assertPredicted(t *testing.T, tt transport.TPM, banks []tpm.Alg, pred *Prediction) {
	t.Helper()
	got, err := tpm.ReadBanks(tt, banks, []int{8, 9})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range banks {
		for _, i := range []int{8, 9} {
			w, _ := pred.PCRs.Get(a, i)
			g, _ := got.Get(a, i)
			if !w.Equal(g) {
				t.Errorf("%s PCR %d: predicted %s, TPM %s", a, i, w, g)
			}
		}
	}
}

// TestMeasureAppends: a second measurement appends to the existing log,
// whose header keeps its banks; the log still replays to the TPM.
func TestMeasureAppends(t *testing.T) {
	tt := tpmtest.Open(t)
	logPath := filepath.Join(t.TempDir(), "log.bin")
	// An existing log for SHA-256 only, with one event already in the TPM.
	l, _ := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	banks, _ := tpm.ActiveBanks(tt)
	ds, _ := tpm.HashBytes(banks, []byte("earlier"))
	if err := tpm.Extend(tt, 8, ds); err != nil {
		t.Fatal(err)
	}
	l.Append(8, tpm.EvIPL, tpm.Digests{tpm.SHA256: ds[tpm.SHA256]}, []byte("earlier"))
	b, _ := l.MarshalBinary()
	os.WriteFile(logPath, b, 0o644)
	e := &Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Cmdline: "x"}
	for round := 1; round <= 2; round++ {
		m, err := Measure(tt, e, MeasuredProfile(), WithLogFile(logPath))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(m.Log.Events); n != 1+2*round {
			t.Fatalf("round %d: log has %d events", round, n)
		}
		if m.Events[0].Index != 2*round {
			t.Fatalf("round %d: first new event has index %d", round, m.Events[0].Index)
		}
	}
	b, _ = os.ReadFile(logPath)
	l, err := tpm.ParseEventLog(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Algs(); len(got) != 1 || got[0] != tpm.SHA256 {
		t.Fatalf("log banks changed to %v", got)
	}
	v, err := tpm.VerifyEventLog(tt, l)
	if err != nil || v.Err() != nil {
		t.Fatalf("%v %v", err, v.Err())
	}
	// A malformed existing log is refused before anything is extended.
	os.WriteFile(logPath, []byte("garbage"), 0o644)
	rec := tpm.NewRecorder(tt)
	if _, err := Measure(rec, e, MeasuredProfile(), WithLogFile(logPath)); !errors.Is(err, ErrLog) || !errors.Is(err, tpm.ErrMalformedLog) {
		t.Fatalf("garbage log: %v", err)
	}
	for _, cc := range rec.CommandCodes() {
		if cc == ccPCRExtend {
			t.Fatal("extended despite a malformed log")
		}
	}
}

// TestMeasureCommandCount counts TPM commands: one GetCapability for the
// active banks, then exactly one PCR_Extend per event.
func TestMeasureCommandCount(t *testing.T) {
	tt := tpmtest.Open(t)
	rec := tpm.NewRecorder(tt)
	i := genImage{seed: 9, size: 3 << 20}.image("initrd")
	e := &Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Initrd: &i, Cmdline: "x", Policy: []byte("p")}
	m, err := Measure(rec, e, MeasuredProfile())
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{ccGetCapability, ccPCRExtend, ccPCRExtend, ccPCRExtend, ccPCRExtend}
	if got := rec.CommandCodes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("commands %#x, want %#x", got, want)
	}
	// Each extend carries a digest for every active bank.
	for _, cmd := range rec.Commands[1:] {
		// TPM2_PCR_Extend: header(10) handle(4) authSize(4) auth(9) count(4)
		if n := int(cmd[27])<<24 | int(cmd[28])<<16 | int(cmd[29])<<8 | int(cmd[30]); n != len(m.Banks) {
			t.Fatalf("extend carries %d digests, %d banks active", n, len(m.Banks))
		}
	}
}

// TestMeasureMemory: measuring a 200 MiB initrd (generated on the fly,
// every active bank) allocates a few MiB, not the image.
func TestMeasureMemory(t *testing.T) {
	tt := tpmtest.Open(t)
	i := genImage{seed: 4, size: 200 << 20}.image("initrd")
	e := &Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Initrd: &i, Cmdline: "x"}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := Measure(tt, e, MeasuredProfile()); err != nil {
		t.Fatal(err)
	}
	if _, err := Predict(e, MeasuredProfile(), allBanks); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// TotalAlloc counts every byte allocated, freed or not: an upper bound
	// of the extra heap the two passes over 200 MiB needed.
	if d := after.TotalAlloc - before.TotalAlloc; d > 32<<20 {
		t.Fatalf("measuring and predicting 200 MiB allocated %d MiB", d>>20)
	} else {
		t.Logf("measuring and predicting 200 MiB allocated %.1f MiB in total", float64(d)/(1<<20))
	}
}

// TestMeasureCheckStops: a check that refuses the kernel stops before the
// kernel is extended; the policy event already extended stays in the log,
// which still replays to the TPM.
func TestMeasureCheckStops(t *testing.T) {
	tt := tpmtest.Open(t)
	logPath := filepath.Join(t.TempDir(), "log.bin")
	e := &Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Cmdline: "x", Policy: []byte("p")}
	refuse := errors.New("refused")
	var seen []Component
	m, err := Measure(tt, e, MeasuredProfile(), WithLogFile(logPath), WithCheck(func(c Component, ds tpm.Digests) error {
		seen = append(seen, c)
		if len(ds[tpm.SHA256]) != 32 {
			t.Errorf("%s: check got no SHA-256", c)
		}
		if c == Kernel {
			return refuse
		}
		return nil
	}))
	if !errors.Is(err, refuse) {
		t.Fatalf("err %v", err)
	}
	if fmt.Sprint(seen) != "[launch-policy kernel]" || len(m.Events) != 1 {
		t.Fatalf("checked %v, measured %d events", seen, len(m.Events))
	}
	banks, _ := tpm.ActiveBanks(tt)
	p9, _ := tpm.ReadBanks(tt, banks, []int{9})
	if v, _ := p9.Get(banks[0], 9); !v.Equal(tpm.ZeroDigest(banks[0])) {
		t.Fatalf("PCR 9 extended despite the refusal: %s", v)
	}
	b, _ := os.ReadFile(logPath)
	l, err := tpm.ParseEventLog(b)
	if err != nil || len(l.Events) != 1 {
		t.Fatalf("log: %v, %d events", err, len(l.Events))
	}
	if v, err := tpm.VerifyEventLog(tt, l); err != nil || v.Err() != nil {
		t.Fatalf("%v %v", err, v.Err())
	}
}
