package slaunch

import (
	"errors"
	"fmt"
	"io"
)

// Offsets in the x86 boot protocol's real-mode setup header (Linux
// Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header").
const (
	bzSetupSects       = 0x1F1 // u8; 0 means 4
	bzBootFlag         = 0x1FE // u16 0xAA55
	bzHeaderMagic      = 0x202 // "HdrS"
	bzVersion          = 0x206 // u16 boot protocol version
	bzLoadFlags        = 0x211 // u8 loadflags
	bzXLoadFlags       = 0x236 // u16 (2.12+); bit 0 XLF_KERNEL_64
	bzKernelInfoOffset = 0x268 // u32 (2.15+): kernel_info, from the start of the protected-mode code
	bzHeaderEnd        = 0x26C
	bzMinKernelInfo    = 0x020F // boot protocol 2.15 added kernel_info
	xlfKernel64        = 1 << 0
	// startup64Offset is the 64-bit entry point's offset in the
	// protected-mode code (boot.rst "64-bit BOOT PROTOCOL": startup_64 is
	// at the load address + 0x200).
	startup64Offset = 0x200
)

// BzImage is what slkit reads from a bzImage's setup header.
type BzImage struct {
	// Size is the file size.
	Size int64 `json:"size"`
	// SetupSects is the number of 512-byte setup sectors (0 read as 4).
	SetupSects int `json:"setup_sects"`
	// SetupSize is (SetupSects+1)*512: the file offset of the protected-mode
	// code (startup_32), to which kernel_info and MLE header offsets are
	// relative.
	SetupSize int64 `json:"setup_size"`
	// Version is the boot protocol version (0x020F is 2.15).
	Version uint16 `json:"version"`
	// LoadFlags is the setup header's loadflags byte; bit 2 is
	// SLAUNCH_FLAG (SlaunchFlag).
	LoadFlags uint8 `json:"loadflags"`
	// XLoadFlags bit 0 says the kernel has a 64-bit entry point.
	XLoadFlags uint16 `json:"xloadflags"`
	// KernelInfoOffset is the kernel_info offset from the protected-mode
	// code (0 before boot protocol 2.15).
	KernelInfoOffset uint32 `json:"kernel_info_offset"`
}

// readAt reads exactly n bytes at off of a kernel image.
func readAt(r io.ReaderAt, size, off, n int64, name string) ([]byte, error) {
	if off < 0 || n < 0 || off > size || n > size-off {
		return nil, formatErr("kernel", off, "%s (%d bytes) runs past the end of the %d-byte image", name, n, size)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && off+n == size) {
		return nil, fmt.Errorf("kernel: read %s: %w", name, err)
	}
	return b, nil
}

// ParseBzImage reads the setup header of an x86 bzImage.
func ParseBzImage(r io.ReaderAt, size int64) (*BzImage, error) {
	h, err := readAt(r, size, 0, bzHeaderEnd, "setup header")
	if err != nil {
		return nil, err
	}
	f := &field{what: "kernel", b: h}
	if string(h[bzHeaderMagic:bzHeaderMagic+4]) != "HdrS" {
		return nil, formatErr("kernel", bzHeaderMagic, "no \"HdrS\" boot header: not an x86 bzImage")
	}
	if f.u16(bzBootFlag, "boot_flag") != 0xAA55 {
		return nil, formatErr("kernel", bzBootFlag, "boot_flag is not 0xAA55: not an x86 bzImage")
	}
	bz := &BzImage{Size: size, SetupSects: int(f.u8(bzSetupSects, "setup_sects")), Version: f.u16(bzVersion, "version"),
		LoadFlags: f.u8(bzLoadFlags, "loadflags")}
	if bz.SetupSects == 0 {
		bz.SetupSects = 4
	}
	bz.SetupSize = int64(bz.SetupSects+1) * 512
	if bz.SetupSize > size {
		return nil, formatErr("kernel", bzSetupSects, "setup_sects %d: %d setup bytes exceed the %d-byte image", bz.SetupSects, bz.SetupSize, size)
	}
	if bz.Version >= 0x020C {
		bz.XLoadFlags = f.u16(bzXLoadFlags, "xloadflags")
	}
	if bz.Version >= bzMinKernelInfo {
		bz.KernelInfoOffset = f.u32(bzKernelInfoOffset, "kernel_info_offset")
	}
	return bz, f.err
}

// Entry64 returns the file offset of the entry point a 64-bit boot-protocol
// loader (kexec on x86-64) jumps to: startup_64 at protected-mode code +
// 0x200, or startup_32 (the protected-mode code itself) for a kernel
// without XLF_KERNEL_64.
func (bz *BzImage) Entry64() int64 {
	if bz.XLoadFlags&xlfKernel64 != 0 {
		return bz.SetupSize + startup64Offset
	}
	return bz.SetupSize
}
