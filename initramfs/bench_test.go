package initramfs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkInitramfsBuild measures, in the same run, the build time and
// size of slkit's images and of mkuimage building the same command set
// (u-root init, gosh, ls, cat, dmesg, mount, kexec, with slkit as uinit),
// invoked exactly as the full build invokes it:
//
//	kind=minimal        slkit built with the go build cache warm, as /init
//	kind=minimal-cold   the same with an empty GOCACHE (every package compiled,
//	                    as mkuimage always does: it passes -a to go build)
//	kind=full           mkuimage, then read back, merged and rewritten canonically
//	kind=mkuimage       the baseline: mkuimage alone
//
// Metrics: s/build (wall time per image) and bytes (archive size).
func BenchmarkInitramfsBuild(b *testing.B) {
	f := newFixture(b)
	ours := func(b *testing.B, opts ...Option) {
		var size int
		start := time.Now()
		for i := 0; i < b.N; i++ {
			var buf bytes.Buffer
			if _, err := Build(context.Background(), &buf, append(opts, WithPolicy(f.policy, f.pub), WithTempDir(b.TempDir()))...); err != nil {
				b.Fatal(err)
			}
			size = buf.Len()
		}
		report(b, start, size)
	}
	b.Run("kind=minimal", func(b *testing.B) { ours(b) })
	b.Run("kind=minimal-cold", func(b *testing.B) {
		b.Setenv("GOCACHE", b.TempDir())
		ours(b)
	})
	b.Run("kind=full", func(b *testing.B) { ours(b, WithFull(true)) })
	b.Run("kind=mkuimage", func(b *testing.B) {
		src, err := FindSource("")
		if err != nil {
			b.Fatal(err)
		}
		cfg := defaultBuildConfig()
		var size int
		start := time.Now()
		for i := 0; i < b.N; i++ {
			tmp := b.TempDir()
			out := filepath.Join(tmp, "out.cpio")
			args := mkuimageArgs(tmp, out, "slkit init", false, fullPackages(true))
			if err := runTool(context.Background(), &cfg, src, "mkuimage", "go", args...); err != nil {
				b.Fatal(err)
			}
			st, err := os.Stat(out)
			if err != nil {
				b.Fatal(err)
			}
			size = int(st.Size())
		}
		report(b, start, size)
	})
}

func report(b *testing.B, start time.Time, size int) {
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/build")
	b.ReportMetric(float64(size), "bytes")
}
