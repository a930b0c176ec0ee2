package launch

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// The benchmarks measure 256 MiB of images: a 16 MiB kernel and a 240 MiB
// initrd, written once to files so that ours and openssl read the same
// bytes from the page cache.
const (
	benchKernel = 16 << 20
	benchInitrd = 240 << 20
)

type benchFiles struct {
	kernel, initrd string
	entry          *Entry
}

func writeBenchFiles(b *testing.B) *benchFiles {
	b.Helper()
	dir := b.TempDir()
	f := &benchFiles{kernel: filepath.Join(dir, "vmlinuz"), initrd: filepath.Join(dir, "initrd.img")}
	for _, x := range []struct {
		path string
		g    genImage
	}{{f.kernel, genImage{seed: 11, size: benchKernel}}, {f.initrd, genImage{seed: 12, size: benchInitrd}}} {
		out, err := os.Create(x.path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, io.NewSectionReader(x.g, 0, x.g.size)); err != nil {
			b.Fatal(err)
		}
		out.Close()
	}
	open := func(p string) Image {
		fh, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { fh.Close() })
		st, _ := fh.Stat()
		return Image{R: fh, Size: st.Size(), Name: p}
	}
	k, i := open(f.kernel), open(f.initrd)
	f.entry = &Entry{Kernel: k, Initrd: &i, Cmdline: "console=ttyS0 quiet"}
	return f
}

func benchBanks(b *testing.B) []tpm.Alg {
	tt := tpmtest.Open(b)
	banks, err := tpm.ActiveBanks(tt)
	if err != nil {
		b.Fatal(err)
	}
	return banks
}

// BenchmarkHash256MiB: hashing only, every active bank of the test TPM
// (the simulator or swtpm: sha1, sha256, sha384, sha512), one pass.
func BenchmarkHash256MiB(b *testing.B) {
	banks := benchBanks(b)
	f := writeBenchFiles(b)
	b.SetBytes(benchKernel + benchInitrd)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Predict(f.entry, MeasuredProfile(), banks); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashBank: one bank at a time, to see which algorithm is slowest.
func BenchmarkHashBank(b *testing.B) {
	f := writeBenchFiles(b)
	for _, a := range allBanks {
		b.Run(a.String(), func(b *testing.B) {
			b.SetBytes(benchKernel + benchInitrd)
			for b.Loop() {
				if _, err := Predict(f.entry, MeasuredProfile(), []tpm.Alg{a}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMeasure256MiB: hashing and extends on the test TPM, and the TPM
// commands per measured event counted with tpm.Recorder.
func BenchmarkMeasure256MiB(b *testing.B) {
	tt := tpmtest.Open(b)
	f := writeBenchFiles(b)
	rec := tpm.NewRecorder(tt)
	b.SetBytes(benchKernel + benchInitrd)
	events, extends := 0, 0
	b.ResetTimer()
	for b.Loop() {
		rec.Reset()
		m, err := Measure(rec, f.entry, MeasuredProfile())
		if err != nil {
			b.Fatal(err)
		}
		events += len(m.Events)
		for _, cc := range rec.CommandCodes() {
			if cc == ccPCRExtend {
				extends++
			}
		}
	}
	b.ReportMetric(float64(extends)/float64(events), "extends/event")
	b.ReportMetric(float64(rec.Count()), "tpm-cmds/op")
}

func opensslDgst(b *testing.B, alg string, files ...string) {
	b.Helper()
	out, err := exec.Command("openssl", append([]string{"dgst", "-" + alg}, files...)...).CombinedOutput()
	if err != nil {
		b.Fatalf("openssl dgst -%s: %v: %s", alg, err, out)
	}
}

func needOpenSSL(b *testing.B) {
	if _, err := exec.LookPath("openssl"); err != nil {
		b.Skip("openssl not installed")
	}
}

// BenchmarkOpenSSL: `openssl dgst -ALG` over the same 256 MiB, per
// algorithm (the baseline: the slowest bank's algorithm).
func BenchmarkOpenSSL(b *testing.B) {
	needOpenSSL(b)
	f := writeBenchFiles(b)
	for _, a := range allBanks {
		b.Run(a.String(), func(b *testing.B) {
			b.SetBytes(benchKernel + benchInitrd)
			for b.Loop() {
				opensslDgst(b, a.String(), f.kernel, f.initrd)
			}
		})
	}
}

// BenchmarkRatioVsOpenSSL times, in the same iteration over the same
// bytes, our hashing of 256 MiB into every active bank and
// `openssl dgst -sha384`, and reports ours/openssl (target: <= 1.2).
func BenchmarkRatioVsOpenSSL(b *testing.B) {
	needOpenSSL(b)
	banks := benchBanks(b)
	f := writeBenchFiles(b)
	var ours, theirs time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := Predict(f.entry, MeasuredProfile(), banks); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		opensslDgst(b, "sha384", f.kernel, f.initrd)
		ours, theirs = ours+t1.Sub(t0), theirs+time.Since(t1)
	}
	b.ReportMetric(float64(ours)/float64(theirs), "x-openssl-sha384")
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ours-ms/op")
	b.ReportMetric(float64(theirs.Milliseconds())/float64(b.N), "openssl-ms/op")
}
