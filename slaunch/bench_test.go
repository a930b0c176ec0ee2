package slaunch

import (
	"os"
	"testing"
)

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
