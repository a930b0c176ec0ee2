package slaunch

import (
	"io"
	"path/filepath"

	"github.com/slkit/slkit/internal/errkind"
)

// GRUBStage is `slkit drtm stage --backend grub` as plain values (its
// flags --kernel, --initrd, --dce, --grub-root, --title, --cmdline and
// --unrestricted): a TrenchBoot GRUB menu entry for a Secure Launch
// kernel. MenuEntry checks it and renders the entry; its errors name
// those flags.
type GRUBStage struct {
	// Kernel is the kernel image's path here.
	Kernel string
	// KernelImage is that image (KernelSize bytes), opened by the caller.
	KernelImage io.ReaderAt
	// KernelSize is the image's size in bytes.
	KernelSize int64
	// Initrd is the initrd's path here ("" for none).
	Initrd string
	// DCE is the SINIT ACM's or AMD SKL's path here ("" for none: the
	// firmware provides the SINIT ACM).
	DCE string
	// Root is where GRUB's root device is mounted here (GRUBPath; "" to
	// write the paths as they are).
	Root string
	// Title is the entry's title ("" for GRUBEntry's default).
	Title string
	// Cmdline is the kernel command line.
	Cmdline string
	// Unrestricted is GRUBEntry.Unrestricted.
	Unrestricted bool
}

// MenuEntry renders s (GRUBEntry.MenuEntry) after DetectSecureLaunch has
// found a Secure Launch kernel: only a v15 kernel with its static MLE
// header, or a v16 kernel that hands the header's offset to the loader at
// run time, can be launched. The entry's comments say which, and what the
// loader does (SecureLaunchKernel.Describe). A kernel that is neither is
// an *fsys.InputError naming --kernel (NameInput); a path outside Root or
// a value GRUB cannot take is an errkind.Input error.
func (s GRUBStage) MenuEntry() (string, error) {
	k, err := DetectSecureLaunch(s.KernelImage, s.KernelSize)
	if err != nil {
		return "", NameInput("--kernel "+s.Kernel, "kernel", err)
	}
	ge := GRUBEntry{Title: s.Title, Cmdline: s.Cmdline, Unrestricted: s.Unrestricted, Comments: k.Describe()}
	ge.Comments[0] = "slkit: " + filepath.Base(s.Kernel) + ": " + ge.Comments[0]
	for _, p := range []struct {
		dst        *string
		flag, path string
	}{{&ge.DCE, "dce", s.DCE}, {&ge.Kernel, "kernel", s.Kernel}, {&ge.Initrd, "initrd", s.Initrd}} {
		if *p.dst, err = GRUBPath(s.Root, p.path); err != nil {
			return "", errkind.Errorf(errkind.Input, "--%s: %w", p.flag, err)
		}
	}
	text, err := ge.MenuEntry()
	if err != nil {
		return "", errkind.Errorf(errkind.Input, "%w", err)
	}
	return text, nil
}
