package slaunch

import (
	"bytes"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

// TestEmulatedPCRsIndependent: StageEmulated's PCR 17/18 equal the
// standard-library computation of slaunchtest.EmulatedPCRs (written from
// the README's tables) in every bank, with and without an initrd.
func TestEmulatedPCRsIndependent(t *testing.T) {
	kernel := append(slaunchtest.Kernel(0x020F, 0x10, 0), bytes.Repeat([]byte{7}, 3000)...)
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}
	for _, initrd := range [][]byte{nil, []byte("initramfs")} {
		in := Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)), Cmdline: "console=ttyS0 quiet"}
		if initrd != nil {
			in.Initrd, in.InitrdSize = bytes.NewReader(initrd), int64(len(initrd))
		}
		st, err := StageEmulated(in, banks)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range slaunchtest.EmulatedBanks {
			p17, p18 := slaunchtest.EmulatedPCRs(h, kernel, initrd, "console=ttyS0 quiet")
			g17, _ := st.Prediction.PCRs.Get(banks[i], 17)
			g18, _ := st.Prediction.PCRs.Get(banks[i], 18)
			if !bytes.Equal(g17, p17) || !bytes.Equal(g18, p18) {
				t.Errorf("%s (initrd %v): stage %x %x, independent %x %x", banks[i], initrd != nil, g17, g18, p17, p18)
			}
		}
	}
}
