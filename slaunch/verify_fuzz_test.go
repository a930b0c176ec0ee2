package slaunch

import (
	"bytes"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

// FuzzCheckDRTM feeds arbitrary bytes as the handed-over DRTM log (what
// `slkit drtm verify` reads from the target's initramfs) to the verdict,
// against the PCRs of a real emulated launch: it must never panic, and it
// may accept a log only when the log replays to those PCR17 and PCR18 in
// every bank it carries and none of its banks is missing from the TPM.
// With PCR17 all 0xFF nothing is ever accepted.
func FuzzCheckDRTM(f *testing.F) {
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256}
	st, good := fuzzLaunchLog(f, banks)
	prefix, _ := st.LogPrefix.MarshalBinary()
	f.Add(good)
	f.Add(prefix)
	f.Add(good[:len(good)-7])
	f.Add([]byte{})
	pcrs := st.Prediction.PCRs
	unlaunched := tpm.NewPCRs()
	for _, a := range banks {
		unlaunched.Set(a, PCRDCE, tpm.OnesDigest(a))
		unlaunched.Set(a, PCRPolicy, tpm.OnesDigest(a))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		log, err := tpm.ParseEventLog(b)
		if err != nil {
			return
		}
		if CheckDRTM(unlaunched, log) == nil {
			t.Fatal("accepted a log with PCR17 all 0xFF")
		}
		if CheckDRTM(pcrs, log) != nil {
			return
		}
		replayed, err := log.Replay()
		if err != nil {
			t.Fatalf("accepted a log that does not replay: %v", err)
		}
		if len(log.Algs()) == 0 {
			t.Fatal("accepted a log without banks")
		}
		for _, a := range log.Algs() {
			for _, i := range []int{PCRDCE, PCRPolicy} {
				want, ok := pcrs.Get(a, i)
				if !ok {
					t.Fatalf("accepted a log bank %s the TPM does not have", a)
				}
				got, ok := replayed.Get(a, i)
				if !ok {
					got = tpm.ZeroDigest(a)
				}
				if !got.Equal(want) {
					t.Fatalf("accepted a log whose %s PCR %d replays to %s, TPM %s", a, i, got, want)
				}
			}
		}
	})
}

// fuzzLaunchLog is the emulated launch of a small test kernel in banks and
// its whole DRTM log: the seed of the fuzz targets that read DRTM logs.
func fuzzLaunchLog(f *testing.F, banks []tpm.Alg) (*EmulatedStage, []byte) {
	kernel := slaunchtest.Kernel(0x020F, 0x10, 0)
	st, err := StageEmulated(Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)), Cmdline: "quiet"}, banks)
	if err != nil {
		f.Fatal(err)
	}
	full, _ := st.Prediction.Log(EmuLogBase, EmuLogSize)
	good, err := full.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	return st, good
}
