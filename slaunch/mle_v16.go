package slaunch

import (
	"errors"
	"fmt"
	"io"
)

// SlaunchFlag is loadflags bit 2, SLAUNCH_FLAG (Linux Secure Launch,
// arch/x86/include/uapi/asm/bootparam.h), which a v16 kernel's setup
// header carries to say that it is a Secure Launch kernel.
const SlaunchFlag = 1 << 2

// v16 constants: the MLE header a v16 kernel carries in vmlinux
// (arch/x86/kernel/sl_stub.S: MLE version 2.2, capabilities 0x227), the
// zero-page field of the legacy boot path (patch "[PATCH v16 38/38]
// x86/boot: Legacy boot DRTM support for Secure Launch",
// Documentation/arch/x86/zero-page.rst: 078/008 slr_table_addr) and the
// EFI protocol of the EFI boot path (patch "[PATCH v16 18/38] x86/efi:
// Secure Launch Resource Table EFI definitions header file",
// include/linux/slr_efi.h: EFI_SLAUNCH_PROTOCOL_GUID, setup_dlme, launch).
const (
	v16MLEVersion      = 0x00020002
	v16MLECapabilities = 0x227
	// ZeroPageSLRTableAddr is boot_params.slr_table_addr.
	ZeroPageSLRTableAddr = 0x078
	// EFISlaunchProtocolGUID is EFI_SLAUNCH_PROTOCOL_GUID.
	EFISlaunchProtocolGUID = "534189e0-6fde-413d-be91-cd4e8d672fea"
)

// Secure Launch kernel layouts.
const (
	// LayoutV15 is a kernel whose MLE header a loader finds statically:
	// setup header kernel_info_offset → kernel_info.mle_header_offset
	// (Secure Launch up to v15; TrenchBoot GRUB grub-sl-2.12-v11 reads it,
	// grub-core/loader/slaunch/i386_linux.c grub_sl_find_kernel_info).
	LayoutV15 = "v15"
	// LayoutV16 is a kernel with no static MLE header: the header is in
	// vmlinux and the kernel hands its offset to the loader at run time.
	LayoutV16 = "v16"
)

// SecureLaunchKernel is how a kernel supports Secure Launch.
type SecureLaunchKernel struct {
	Layout  string   `json:"layout"`
	BzImage *BzImage `json:"bzimage"`
	// MLE is the static MLE header (LayoutV15 only).
	MLE *MLEHeader `json:"mle,omitempty"`
}

// DetectSecureLaunch tells how a bzImage supports Secure Launch: a v15
// kernel has the static MLE header FindMLEHeader finds; a v16 kernel has
// none for loaders and says so with SLAUNCH_FLAG in its setup header's
// loadflags (boot protocol 2.15 or later, which has kernel_info). Any
// other kernel gets FindMLEHeader's ErrNoMLEHeader, which names the
// missing link, plus the missing flag.
func DetectSecureLaunch(r io.ReaderAt, size int64) (*SecureLaunchKernel, error) {
	h, bz, err := FindMLEHeader(r, size)
	if err == nil {
		return &SecureLaunchKernel{Layout: LayoutV15, BzImage: bz, MLE: h}, nil
	}
	if !errors.Is(err, ErrNoMLEHeader) {
		return nil, err
	}
	if bz.Version >= bzMinKernelInfo && bz.LoadFlags&SlaunchFlag != 0 {
		return &SecureLaunchKernel{Layout: LayoutV16, BzImage: bz}, nil
	}
	return nil, fmt.Errorf("%w; and no SLAUNCH_FLAG in loadflags (%#02x), which a Secure Launch v16 kernel sets", err, bz.LoadFlags)
}

// Describe says what the kernel is and what a loader does to launch it,
// one sentence per line.
func (k *SecureLaunchKernel) Describe() []string {
	bz := k.BzImage
	proto := fmt.Sprintf("boot protocol %d.%02d", bz.Version>>8, bz.Version&0xFF)
	if k.Layout == LayoutV15 {
		return []string{
			fmt.Sprintf("Secure Launch v15 kernel (%s): static MLE header at file offset %#x (kernel_info.mle_header_offset %#x), version %#x, capabilities %#x, entry %#x",
				proto, k.MLE.FileOffset, k.MLE.OffsetInPM, k.MLE.Version, k.MLE.Capabilities, k.MLE.EntryPoint),
			"the loader finds the header through kernel_info, as TrenchBoot GRUB grub-sl-2.12-v11 does (slaunch, slaunch_module)",
		}
	}
	return []string{
		fmt.Sprintf("Secure Launch v16 kernel (%s, SLAUNCH_FLAG in loadflags %#02x): no static MLE header; the header (MLE %d.%d, capabilities %#x) is in vmlinux",
			proto, bz.LoadFlags, v16MLEVersion>>16, v16MLEVersion&0xFFFF, v16MLECapabilities),
		"EFI boot: the loader installs EFI_SLAUNCH_PROTOCOL (" + EFISlaunchProtocolGUID + ") on the kernel's image handle; the kernel's EFI stub calls setup_dlme(base, mle_header_offset, boot_params) and, after ExitBootServices, launch()",
		fmt.Sprintf("legacy boot: the loader puts the SLRT's address in boot_params.slr_table_addr (zero page %#03x); the decompressor calls the SLRT DL_INFO dl_launch(bl_context, {dlme_base, dlme_header_offset, dlme_table})", ZeroPageSLRTableAddr),
		"TrenchBoot GRUB up to grub-sl-2.12-v11 reads the v15 kernel_info header only: this kernel needs a loader that implements the v16 protocol",
	}
}
