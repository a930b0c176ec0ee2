package slaunch

import (
	"bytes"
	"os"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// BenchmarkStageEmulatedDigests is BenchmarkStageEmulated with the
// kernel's digests given (digests=from-measure: what slkit launch --drtm
// does with the digests it measured into PCR 9), next to the baseline in
// the same run (digests=rehash: the kernel hashed again). The difference
// is what the launch saves by not reading the kernel a second time.
func BenchmarkStageEmulatedDigests(b *testing.B) {
	p := os.Getenv("SLKIT_CACHE")
	if p == "" {
		p = "../.cache"
	}
	k, err := os.ReadFile(p + "/kernel/vmlinuz")
	if err != nil {
		b.Skipf("no Debian kernel: %v", err)
	}
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}
	kd, err := tpm.HashBytes(banks, k)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		kd   tpm.Digests
	}{{"digests=from-measure", kd}, {"digests=rehash", nil}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := StageEmulated(Images{Kernel: bytes.NewReader(k), KernelSize: int64(len(k)), Cmdline: "console=ttyS0", KernelDigests: c.kd}, banks); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLaunchEmulatedSwtpm is one emulated launch on swtpm through a
// host over an in-memory host channel: the _TPM_Hash sequence, the
// locality change, five PCR extends in four banks, two PCR reads and the
// log's verification. The TPM resets PCR17-22 on every _TPM_Hash, so the
// launches repeat on the same swtpm.
func BenchmarkLaunchEmulatedSwtpm(b *testing.B) {
	tt := tpmtest.RequireSwtpm(b)
	ctl, err := tt.Control()
	if err != nil {
		b.Fatal(err)
	}
	host, _ := (&slaunchtest.Host{TPM: ctl}).Pipe(b)
	kernel := slaunchtest.Kernel(0x020F, 0x10, 0)
	initrd := bytes.Repeat([]byte("initrd "), 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)),
			Initrd: bytes.NewReader(initrd), InitrdSize: int64(len(initrd)), Cmdline: "console=ttyS0"}
		if _, err := LaunchEmulated(tt, host, in); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := ctl.SetLocality(0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
