package slaunch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindMLEHeader(t *testing.T) {
	img := slaunchtest.Kernel(0x020F, 0x14, 0x200)
	h, bz, err := FindMLEHeader(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	want := MLEHeader{UUID: MLEUUID, HeaderLen: 0x34, Version: 0x20002, EntryPoint: 0x300, End: 0x1800, Capabilities: 0x227,
		OffsetInPM: 0x200, FileOffset: 1024 + 0x200}
	if *h != want {
		t.Fatalf("header %+v\nwant   %+v", *h, want)
	}
	if bz.SetupSize != 1024 || bz.KernelInfoOffset != 0x100 || bz.Entry64() != 1024+0x200 {
		t.Errorf("bzImage %+v", bz)
	}
	raw, _ := h.MarshalBinary()
	if !bytes.Equal(raw, img[h.FileOffset:h.FileOffset+MLEHeaderSize]) {
		t.Errorf("MarshalBinary differs from the image bytes")
	}
}

func TestFindMLEHeaderNone(t *testing.T) {
	for _, tc := range []struct {
		name string
		img  []byte
		want string
		is   error
	}{
		{"no mle_header_offset", slaunchtest.Kernel(0x020F, 0x10, 0),
			"kernel has no MLE header: kernel_info has no mle_header_offset (its fixed part is 16 bytes, Secure Launch needs 20; built without CONFIG_SECURE_LAUNCH)", ErrNoMLEHeader},
		{"zero mle_header_offset", slaunchtest.Kernel(0x020F, 0x14, 0), "kernel_info.mle_header_offset is 0", ErrNoMLEHeader},
		{"old boot protocol", slaunchtest.Kernel(0x020C, 0x14, 0x200), "boot protocol 2.12 has no kernel_info", ErrNoMLEHeader},
		{"not a bzImage", make([]byte, 4096), `no "HdrS" boot header: not an x86 bzImage`, ErrMalformed},
		{"truncated", slaunchtest.Kernel(0x020F, 0x14, 0x200)[:0x200], "setup header (620 bytes) runs past the end of the 512-byte image", ErrMalformed},
		{"wrong UUID", func() []byte { b := slaunchtest.Kernel(0x020F, 0x14, 0x200); b[1024+0x200] ^= 1; return b }(), "not the MLE header UUID", ErrMalformed},
		{"header past end", func() []byte {
			b := slaunchtest.Kernel(0x020F, 0x14, 0x200)
			binary.LittleEndian.PutUint32(b[1024+0x110:], 0x1ff0) // mle_header_offset
			return b
		}(), "MLE header (52 bytes) runs past the end", ErrMalformed},
		{"no LToP", func() []byte { b := slaunchtest.Kernel(0x020F, 0x14, 0x200); b[1024+0x100] = 'X'; return b }(), `does not point at "LToP"`, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := FindMLEHeader(bytes.NewReader(tc.img), int64(len(tc.img)))
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}

// debianKernel returns the Debian cloud kernel make deps extracts, or
// skips (unless SLKIT_REQUIRE_RIG=1) when it is missing.
func debianKernel(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("SLKIT_CACHE")
	if cache == "" {
		cache = filepath.Join("..", ".cache")
	}
	p := filepath.Join(cache, "kernel", "vmlinuz")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
			t.Fatalf("Debian kernel required (SLKIT_REQUIRE_RIG=1): %v", err)
		}
		t.Skipf("no Debian kernel (run make deps): %v", err)
	}
	return p
}

// TestDebianKernelHasNoMLEHeader: the Debian cloud kernel has no Secure
// Launch support; the answer says which link of the chain is missing.
func TestDebianKernelHasNoMLEHeader(t *testing.T) {
	f, err := os.Open(debianKernel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	_, bz, err := FindMLEHeader(f, st.Size())
	const want = "kernel has no MLE header: kernel_info has no mle_header_offset (its fixed part is 16 bytes, Secure Launch needs 20; built without CONFIG_SECURE_LAUNCH)"
	if !errors.Is(err, ErrNoMLEHeader) || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	if bz == nil || bz.Version < 0x020F || bz.XLoadFlags&1 == 0 {
		t.Fatalf("setup header not read: %+v", bz)
	}
}
