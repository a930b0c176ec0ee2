package launch

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

func TestLogCpio(t *testing.T) {
	log := []byte("\x00\x01 event log bytes")
	a, err := LogCpio(log)
	if err != nil {
		t.Fatal(err)
	}
	// newc: "070701" magic, 13 fields of 8 hex digits, NUL-terminated name.
	if !bytes.HasPrefix(a, []byte("070701")) {
		t.Fatalf("not a newc archive: %q", a[:min(len(a), 16)])
	}
	b2, _ := LogCpio(log)
	if !bytes.Equal(a, b2) {
		t.Fatal("the same log gives different archives")
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(a)))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Name != "slkit" || recs[1].Name != "slkit/prelaunch-eventlog.bin" {
		t.Fatalf("records %v", recs)
	}
	if recs[0].Mode != cpio.S_IFDIR|0o755 || recs[1].Mode != cpio.S_IFREG|0o444 || recs[1].MTime != 0 || recs[1].UID != 0 {
		t.Fatalf("modes %o %o", recs[0].Mode, recs[1].Mode)
	}
	got, _ := io.ReadAll(io.NewSectionReader(recs[1], 0, int64(recs[1].FileSize)))
	if !bytes.Equal(got, log) {
		t.Fatalf("file holds %q", got)
	}
	if !bytes.Contains(a[len(a)-32:], []byte("TRAILER!!!\x00")) {
		t.Fatal("no trailer")
	}
}

// TestHandoverInitrd: the kernel receives the staged initrd bytes
// unchanged, zero padding to 512, then the log archive, in one sealed,
// read-only memory file; the kernel's file is the image exactly. Random
// reads agree with the flat bytes.
func TestHandoverInitrd(t *testing.T) {
	for _, size := range []int64{1, 511, 512, 513, 3<<20 + 1} {
		g := genImage{seed: uint64(size), size: size}
		im := g.image("initrd")
		st, err := Stage(&Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Initrd: &im, Cmdline: "c"})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		h, err := st.Handover([]byte("LOG"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []*os.File{h.Kernel, h.Initrd} {
			if err := checkSealed(f); err != nil {
				t.Fatal(err)
			}
		}
		if k, _ := io.ReadAll(io.NewSectionReader(h.Kernel, 0, 1<<20)); string(k) != "kernel" {
			t.Fatalf("kernel file holds %q", k)
		}
		got, err := io.ReadAll(io.NewSectionReader(h.Initrd, 0, 1<<40))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, size)
		g.ReadAt(want, 0)
		for len(want)%512 != 0 {
			want = append(want, 0)
		}
		arch, _ := LogCpio([]byte("LOG"))
		want = append(want, arch...)
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: handover initrd differs (%d vs %d bytes)", size, len(got), len(want))
		}
		if h.Cmdline != "c" {
			t.Fatalf("cmdline %q", h.Cmdline)
		}
		r := rand.New(rand.NewPCG(uint64(size), 1))
		for i := 0; i < 200; i++ {
			off := r.Int64N(int64(len(want)) + 10)
			n := r.IntN(2000)
			buf := make([]byte, n)
			m, err := h.Initrd.ReadAt(buf, off)
			end := min(off+int64(n), int64(len(want)))
			wantN := int(max(0, end-off))
			if m != wantN || !bytes.Equal(buf[:m], want[min(off, int64(len(want))):end]) {
				t.Fatalf("ReadAt(%d, %d) = %d, want %d", n, off, m, wantN)
			}
			if m < n && err != io.EOF {
				t.Fatalf("short ReadAt without EOF: %v", err)
			}
		}
		if _, err := st.Handover([]byte("LOG")); !errors.Is(err, ErrStage) {
			t.Fatalf("second Handover: %v", err)
		}
	}
}

func TestHandoverNoInitrd(t *testing.T) {
	st, err := Stage(&Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Cmdline: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.Handover([]byte("LOG"))
	if err != nil || h.Initrd != nil || checkSealed(h.Kernel) != nil {
		t.Fatalf("%v, initrd %v", err, h.Initrd)
	}
}

// TestKexecDryRun: the real Load in dry-run mode checks the hand-over as a
// real load does (sealed, read-only memory files; an ordinary file, even
// read-only, is refused) and makes no system call; Execute does not
// reboot.
func TestKexecDryRun(t *testing.T) {
	k := NewKexec(WithDryRun(true))
	if err := k.Execute(); !errors.Is(err, ErrKexec) {
		t.Fatalf("Execute before Load: %v", err)
	}
	if _, err := k.Load(&Handover{}); !errors.Is(err, ErrKexec) {
		t.Fatalf("Load without kernel: %v", err)
	}
	plain := filepath.Join(t.TempDir(), "vmlinuz")
	os.WriteFile(plain, []byte("kernel"), 0o400)
	pf, err := os.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if _, err := k.Load(&Handover{Kernel: pf}); !errors.Is(err, ErrKexec) || !strings.Contains(err.Error(), "not a sealed memory file") {
		t.Fatalf("Load of an ordinary file: %v", err)
	}
	im := genImage{seed: 5, size: 1 << 20}.image("initrd")
	st, err := Stage(&Entry{Kernel: Image{R: strings.NewReader("not really a bzImage"), Size: 20}, Initrd: &im, Cmdline: "console=ttyS0"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Before Handover the initrd's file is still writable: refused.
	if _, err := k.Load(&Handover{Kernel: st.Entry().Kernel.R.(*os.File), Initrd: st.initrd.ro}); !errors.Is(err, ErrKexec) || !strings.Contains(err.Error(), "initrd") {
		t.Fatalf("Load of an unsealed initrd: %v", err)
	}
	h, err := st.Handover([]byte("LOG"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := k.Load(h)
	if err != nil || l.Syscall != SyscallNone {
		t.Fatalf("dry-run Load: %v %+v", err, l)
	}
	if err := k.Execute(); err != nil {
		t.Fatalf("dry-run Execute: %v", err)
	}
}

// TestStageShortSource: a source shorter than its Size is refused, naming
// it; an image above MaxImageSize is refused before it is read.
func TestStageShortSource(t *testing.T) {
	_, err := Stage(&Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 60, Name: "/boot/vmlinuz"}})
	if !errors.Is(err, ErrEntry) || !strings.Contains(err.Error(), "kernel /boot/vmlinuz: read 6 of 60 bytes (truncated?)") {
		t.Fatalf("short kernel: %v", err)
	}
	im := genImage{seed: 1, size: MaxImageSize + 1}.image("/boot/initrd.img")
	_, err = Stage(&Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Initrd: &im})
	if !errors.Is(err, ErrEntry) || !strings.Contains(err.Error(), "initrd /boot/initrd.img: 4294967296 bytes, more than") {
		t.Fatalf("huge initrd: %v", err)
	}
}

// TestHandoverCpioExtraFiles: extra files land at their paths under
// /slkit/ with their directories, once each; any other path is refused:
// the unmeasured archive must not replace a file of the measured initrd.
func TestHandoverCpioExtraFiles(t *testing.T) {
	a, err := HandoverCpio([]byte("log"), HandoverFile{Path: "/slkit/demo.sealed", Data: []byte("sealed")},
		HandoverFile{Path: "/slkit/x/y.json", Data: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(a)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.Name)
	}
	want := "slkit slkit/prelaunch-eventlog.bin slkit/demo.sealed slkit/x slkit/x/y.json"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("records %q, want %q", got, want)
	}
	for _, bad := range []string{"relative", "/", "/slkit/prelaunch-eventlog.bin", "/slkit", "/slkit/",
		"/init", "/etc/x/y.json", "/bin/sh", "/slkit/../init", "/slkit/./x", "/slkit//x", "/slkitx/y", "slkit/x", "/slkit/x/", "/slkit/a\x00b"} {
		if _, err := HandoverCpio(nil, HandoverFile{Path: bad}); !errors.Is(err, ErrEntry) {
			t.Errorf("path %q: %v", bad, err)
		}
	}
}
