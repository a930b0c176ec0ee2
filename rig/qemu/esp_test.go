package qemu

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMakeESP: mtype reads the file back from \EFI\BOOT\BOOTX64.EFI, and
// the image starts with a FAT32 boot sector (signature 0x55AA).
func TestMakeESP(t *testing.T) {
	if _, err := exec.LookPath("mtype"); err != nil {
		skipOrFatal(t, "mtools: "+err.Error())
	}
	dir := t.TempDir()
	efi := filepath.Join(dir, "uki.efi")
	payload := bytes.Repeat([]byte("MZ slkit test payload "), 1000)
	os.WriteFile(efi, payload, 0o600)
	img := filepath.Join(dir, "esp.img")
	if err := MakeESP(context.Background(), efi, img); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mtype", "-i", img, "::"+ESPBootPath).Output()
	if err != nil || !bytes.Equal(out, payload) {
		t.Fatalf("mtype: %v, %d bytes back of %d", err, len(out), len(payload))
	}
	b, _ := os.ReadFile(img)
	if len(b) < 64<<20 || b[510] != 0x55 || b[511] != 0xaa || string(b[82:90]) != "FAT32   " {
		t.Fatalf("boot sector: %d bytes, signature %x, type %q", len(b), b[510:512], b[82:90])
	}
}
