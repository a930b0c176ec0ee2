package launch

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// flipFS is a disk whose answer to a re-read differs: each file serves
// its first bytes (first[name]) until as many bytes as the file holds were
// read from it, and then[name] for every read after that, as a live
// writer, the host of a virtual disk or lying storage firmware could. It
// counts the bytes read from each file (read).
type flipFS struct {
	first, then map[string][]byte
	mu          sync.Mutex
	served      map[string]int64
}

func newFlipFS(first, then map[string][]byte) *flipFS {
	return &flipFS{first: first, then: then, served: map[string]int64{}}
}

type flipFile struct {
	fs.File
	name string
	f    *flipFS
}

func (f *flipFS) Open(name string) (fs.File, error) {
	m := fstest.MapFS{}
	for n, b := range f.first {
		m[n] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	file, err := m.Open(name)
	if err != nil {
		return nil, err
	}
	return &flipFile{File: file, name: name, f: f}, nil
}

// read returns how many bytes were read from name.
func (f *flipFS) read(name string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.served[name]
}

func (ff *flipFile) ReadAt(p []byte, off int64) (int, error) {
	f := ff.f
	f.mu.Lock()
	src := f.first[ff.name]
	if f.served[ff.name] >= int64(len(src)) {
		src = f.then[ff.name]
	}
	f.mu.Unlock()
	n, err := bytes.NewReader(src).ReadAt(p, off)
	f.mu.Lock()
	f.served[ff.name] += int64(n)
	f.mu.Unlock()
	return n, err
}

// stdPCR9 is PCR 9 after the kernel and initrd events, in SHA-256 with the
// standard library: E(E(0, H(kernel)), H(initrd)).
func stdPCR9(kernel, initrd []byte) []byte {
	hk, hi := sha256.Sum256(kernel), sha256.Sum256(initrd)
	return stdExtend(tpm.SHA256, stdExtend(tpm.SHA256, make([]byte, 32), hk[:]), hi[:])
}

func pcr(t testing.TB, tt transport.TPM, a tpm.Alg, i int) tpm.Digest {
	t.Helper()
	got, err := tpm.ReadBanks(tt, []tpm.Alg{a}, []int{i})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := got.Get(a, i)
	return v
}

// TestLaunchReReadDiffers: a disk that answers a second read with other
// bytes. Each image is read from it exactly once; the bytes handed to
// kexec are the bytes measured into PCR 9 (computed here with the
// standard library from the first answer) and checked against the policy.
func TestLaunchReReadDiffers(t *testing.T) {
	tt := tpmtest.Open(t)
	f := newLaunchFixture(t, defaultDoc)
	other := func(b []byte) []byte {
		o := bytes.Clone(b)
		for i := range o {
			o[i] ^= 0x5A
		}
		return o
	}
	fsys := newFlipFS(
		map[string][]byte{"boot/vmlinuz": f.kernel, "boot/initrd.img": f.initrd},
		map[string][]byte{"boot/vmlinuz": other(f.kernel), "boot/initrd.img": other(f.initrd)})
	k := &recKexec{}
	_, err := Launch(tt, f.signed, f.pub, WithFS(fsys), WithKexec(k), WithLaunchLog(filepath.Join(t.TempDir(), "l")))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.loaded.Kernel, f.kernel) {
		t.Error("the kernel handed to kexec is not the measured kernel")
	}
	if !bytes.HasPrefix(k.loaded.Initrd, f.initrd) {
		t.Error("the initrd handed to kexec does not start with the measured initrd")
	}
	if got, want := pcr(t, tt, tpm.SHA256, 9), stdPCR9(f.kernel, f.initrd); !got.Equal(want) {
		t.Errorf("PCR 9 %s, want %x (the first answer's bytes)", got, want)
	}
	for name, b := range fsys.first {
		if n := fsys.read(name); n != int64(len(b)) {
			t.Errorf("%s: %d bytes read from the disk for a %d-byte image, want exactly one read", name, n, len(b))
		}
	}
}

// TestLaunchSourceChangedAfterMeasure: the image files on a real file
// system are rewritten (same size, other bytes; then truncated) after the
// measurement and before the kexec reads them; kexec still gets the
// measured bytes.
func TestLaunchSourceChangedAfterMeasure(t *testing.T) {
	for _, change := range []struct {
		name string
		do   func(path string, b []byte) error
	}{
		{"rewritten", func(p string, b []byte) error { return os.WriteFile(p, bytes.Repeat([]byte("X"), len(b)), 0o644) }},
		{"truncated", func(p string, b []byte) error { return os.Truncate(p, int64(len(b)/2)) }},
	} {
		t.Run(change.name, func(t *testing.T) {
			tt := tpmtest.Open(t)
			f := newLaunchFixture(t, defaultDoc)
			root := t.TempDir()
			kp, ip := filepath.Join(root, "boot/vmlinuz"), filepath.Join(root, "boot/initrd.img")
			os.MkdirAll(filepath.Dir(kp), 0o755)
			os.WriteFile(kp, f.kernel, 0o644)
			os.WriteFile(ip, f.initrd, 0o644)
			k := &recKexec{before: func() {
				if err := change.do(kp, f.kernel); err != nil {
					t.Fatal(err)
				}
				if err := change.do(ip, f.initrd); err != nil {
					t.Fatal(err)
				}
			}}
			_, err := Launch(tt, f.signed, f.pub, WithFS(os.DirFS(root)), WithKexec(k), WithLaunchLog(filepath.Join(t.TempDir(), "l")))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k.loaded.Kernel, f.kernel) || !bytes.HasPrefix(k.loaded.Initrd, f.initrd) {
				t.Error("kexec got other bytes than the measured ones")
			}
		})
	}
}

// TestLaunchDryRunLeavesNoFiles runs the whole flow through the real
// kexec loader in dry-run mode, with images as files on disk: it leaves
// nothing in $TMPDIR (the images are staged in memory files), and says
// that nothing was loaded.
func TestLaunchDryRunLeavesNoFiles(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	tt := tpmtest.Open(t)
	f := newLaunchFixture(t, defaultDoc)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "boot"), 0o755)
	os.WriteFile(filepath.Join(root, "boot/vmlinuz"), f.kernel, 0o644)
	os.WriteFile(filepath.Join(root, "boot/initrd.img"), f.initrd, 0o644)
	var info []string
	res, err := Launch(tt, f.signed, f.pub, WithFS(os.DirFS(root)), WithKexec(NewKexec(WithDryRun(true))),
		WithLaunchLog(filepath.Join(t.TempDir(), "l")), WithInfo(func(m string) { info = append(info, m) }))
	if err != nil {
		t.Fatal(err)
	}
	if res.Kexec.Syscall != SyscallNone || len(info) != 1 || info[0] != "kexec: loaded with none (dry run)" {
		t.Errorf("kexec %+v, info %q", res.Kexec, info)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left in $TMPDIR: %s", e.Name())
	}
}

// TestStageMemoryFlat: staging a 64 MiB image allocates a bounded amount
// of Go heap (one copy buffer), not the image: the copy lives in the
// memory file.
func TestStageMemoryFlat(t *testing.T) {
	im := genImage{seed: 3, size: 64 << 20}.image("initrd")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st, err := Stage(&Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Initrd: &im})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Errorf("staging 64 MiB allocated %d bytes of heap", n)
	}
}

// BenchmarkStage256MiB: copying the benchmark's 16 MiB kernel and 240 MiB
// initrd from files into sealed memory files, the cost Launch adds before
// hashing (compare BenchmarkHash256MiB).
func BenchmarkStage256MiB(b *testing.B) {
	f := writeBenchFiles(b)
	b.SetBytes(benchKernel + benchInitrd)
	b.ReportAllocs()
	for b.Loop() {
		st, err := Stage(f.entry)
		if err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}
