package launch

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// stdEntry64 is the file offset a 64-bit boot-protocol loader enters a
// bzImage at, from its setup header (Linux Documentation/arch/x86/boot.rst:
// setup_sects at 0x1F1, 0 meaning 4; the protected-mode code after
// (setup_sects+1)·512 bytes; startup_64 0x200 further when xloadflags at
// 0x236 has XLF_KERNEL_64).
func stdEntry64(k []byte) uint32 {
	ss := uint32(k[0x1F1])
	if ss == 0 {
		ss = 4
	}
	e := (ss + 1) * 512
	if k[0x236]&1 != 0 {
		e += 0x200
	}
	return e
}

// TestLaunchEmulatedDRTMParsesMeasuredCopy: the emulated DRTM parses the
// kernel the measurement read, not a second read of the disk. The disk
// answers a re-read with a kernel whose xloadflags differ (so another
// entry point); PCR 17 is what the first answer gives, computed here with
// the standard library: E(E(E(0, H(DCE blob)), H(le32 entry)), H(kernel)).
func TestLaunchEmulatedDRTMParsesMeasuredCopy(t *testing.T) {
	tt := tpmtest.RequireSwtpm(t)
	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	f := newDRTMFixture(t)
	reread := bytes.Clone(f.kernel)
	reread[0x236] &^= 1 // no XLF_KERNEL_64: the entry moves 0x200 bytes
	fsys := newFlipFS(
		map[string][]byte{"boot/vmlinuz": f.kernel, "boot/initrd.img": f.initrd},
		map[string][]byte{"boot/vmlinuz": reread, "boot/initrd.img": f.initrd})
	host := &slaunchtest.Host{TPM: ctl}
	k := &recKexec{}
	if _, err := Launch(tt, f.signed, f.pub, WithFS(fsys), WithKexec(k), WithEntry("drtm"),
		WithLaunchLog(filepath.Join(t.TempDir(), "l")), WithDRTM(EmulatedDRTM(pipeHost(t, host)))); err != nil {
		t.Fatal(err)
	}
	hashed := host.Hashed()
	if len(hashed) != 1 {
		t.Fatalf("host hashed %d blobs", len(hashed))
	}
	var entry [4]byte
	binary.LittleEndian.PutUint32(entry[:], stdEntry64(f.kernel))
	hb, he, hk := sha256.Sum256(hashed[0]), sha256.Sum256(entry[:]), sha256.Sum256(f.kernel)
	want := stdExtend(tpm.SHA256, stdExtend(tpm.SHA256, stdExtend(tpm.SHA256, make([]byte, 32), hb[:]), he[:]), hk[:])
	if got := pcr(t, tt, tpm.SHA256, 17); !got.Equal(want) {
		t.Errorf("PCR 17 %s, want %x (the measured kernel's entry point %#x)", got, want, stdEntry64(f.kernel))
	}
	if !bytes.Equal(k.loaded.Kernel, f.kernel) {
		t.Error("kexec got another kernel than the measured one")
	}
	if n := fsys.read("boot/vmlinuz"); n != int64(len(f.kernel)) {
		t.Errorf("kernel: %d bytes read from the disk for a %d-byte image, want exactly one read", n, len(f.kernel))
	}
}
