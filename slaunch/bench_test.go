package slaunch

import (
	"bytes"
	"os"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// BenchmarkStageEmulated stages the emulated launch of the Debian kernel
// (about 14 MB) in the four banks swtpm allocates: the cost is hashing the
// kernel once per bank (in parallel) plus building the SLB, SLRT and log.
func BenchmarkStageEmulated(b *testing.B) {
	p := os.Getenv("SLKIT_CACHE")
	if p == "" {
		p = "../.cache"
	}
	k, err := os.ReadFile(p + "/kernel/vmlinuz")
	if err != nil {
		b.Skipf("no Debian kernel: %v", err)
	}
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}
	b.SetBytes(int64(len(k)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := StageEmulated(Images{Kernel: bytes.NewReader(k), KernelSize: int64(len(k)), Cmdline: "console=ttyS0"}, banks); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProbeRecorded is the probe's own cost, without hardware reads.
func BenchmarkProbeRecorded(b *testing.B) {
	data, err := os.ReadFile("testdata/platforms/txt-ready.json")
	if err != nil {
		b.Fatal(err)
	}
	r, err := ParseRecording(data)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		Probe(r)
	}
}
