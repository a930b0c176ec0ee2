package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// ESPBootPath is where firmware looks for a removable medium's boot
// loader on x86-64 (UEFI 2.10 §3.5.1.1).
const ESPBootPath = "/EFI/BOOT/BOOTX64.EFI"

// MakeESP writes a FAT disk image (no partition table: edk2 boots a
// "superfloppy" FAT volume as removable media) at out holding efi as
// \EFI\BOOT\BOOTX64.EFI. It uses Debian's mtools (mformat, mmd, mcopy),
// the tools mkosi and systemd-repart populate ESPs with: no loop device,
// no mount, no root; the volume serial is fixed. The image is at least 64
// MiB (FAT32) and twice the size of efi.
func MakeESP(ctx context.Context, efi, out string) error {
	st, err := os.Stat(efi)
	if err != nil {
		return err
	}
	for _, tool := range []string{"mformat", "mmd", "mcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s: %w (apt-get install mtools, or run make deps)", tool, ErrNotInstalled)
		}
	}
	size := max(int64(64<<20), (2*st.Size()+(1<<20)-1)&^((1<<20)-1))
	os.Remove(out)
	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(b)))
		}
		return nil
	}
	sectors := strconv.FormatInt(size/512, 10)
	if err := run("mformat", "-i", out, "-F", "-T", sectors, "-N", "51f7e5b0", "-v", "ESP", "::"); err != nil {
		return err
	}
	if err := run("mmd", "-i", out, "::/EFI", "::/EFI/BOOT"); err != nil {
		return err
	}
	return run("mcopy", "-i", out, efi, "::"+ESPBootPath)
}

// WithESP attaches the FAT image at path (MakeESP) as a virtio disk the
// firmware boots from; no -kernel is given, so the firmware loads
// \EFI\BOOT\BOOTX64.EFI itself, checks its signature under Secure Boot and
// measures it (direct kernel boot is no Secure Boot test: OVMF 2022.11
// falls back to a legacy loader when LoadImage refuses an image). The
// ESP is attached before any WithDisk drive, so its boot option comes
// first and the first NVMe disk stays /dev/nvme0n1.
func WithESP(path string) VMOption { return func(c *vmConfig) { c.esp = path } }
