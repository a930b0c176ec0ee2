package slaunch

import (
	"encoding/binary"
	"fmt"
	"io"
)

// kernel_info layout (Linux Documentation/arch/x86/boot.rst "kernel_info";
// TrenchBoot/linux arch/x86/boot/compressed/kernel_info.S): "LToP"@0,
// size@4 (fixed part), size_total@8, setup_type_max@0xC, and with
// CONFIG_SECURE_LAUNCH mle_header_offset@0x10 (from the protected-mode code).
const (
	kiMagic           = "LToP"
	kiSize            = 0x04
	kiMLEHeaderOffset = 0x10
	kiWithMLE         = 0x14 // fixed part that holds mle_header_offset
)

// MLEHeaderSize is the size of the MLE header (TXT SDG Table 2-1 "MLE
// Header structure", HeaderLen 0x34; Linux Secure Launch v16 struct
// slr_dlme_header).
const MLEHeaderSize = 0x34

// MLEUUID is the MLE header UUID, dwords 9082AC5A 74A7476F A2555C0F
// 42B651CB stored little-endian (SDG Table 2-1; GRUB GRUB_TXT_MLE_UUID).
var MLEUUID = [16]byte{0x5a, 0xac, 0x82, 0x90, 0x6f, 0x47, 0xa7, 0x74, 0x0f, 0x5c, 0x55, 0xa2, 0xcb, 0x51, 0xb6, 0x42}

// MLEHeader is the Measured Launch Environment header of a Secure Launch
// kernel (SDG Table 2-1). Linux fills it as: HeaderLen 0x34, Version
// 0x00020002, EntryPoint = sl_stub_entry, Start 0, End = _edata, all
// relative to the protected-mode code, Capabilities 0x227.
type MLEHeader struct {
	UUID           [16]byte `json:"uuid"`             // @0
	HeaderLen      uint32   `json:"header_len"`       // @16
	Version        uint32   `json:"version"`          // @20
	EntryPoint     uint32   `json:"entry_point"`      // @24
	FirstValidPage uint32   `json:"first_valid_page"` // @28
	Start          uint32   `json:"mle_start"`        // @32
	End            uint32   `json:"mle_end"`          // @36
	Capabilities   uint32   `json:"capabilities"`     // @40
	CmdlineStart   uint32   `json:"cmdline_start"`    // @44
	CmdlineEnd     uint32   `json:"cmdline_end"`      // @48

	// OffsetInPM is kernel_info.mle_header_offset: the header's offset from
	// the protected-mode code (the DLME base).
	OffsetInPM uint32 `json:"mle_header_offset"`
	// FileOffset is where the header sits in the bzImage file.
	FileOffset int64 `json:"file_offset"`
}

// FindMLEHeader locates the MLE header of a bzImage the way TrenchBoot
// loaders do: setup header kernel_info_offset (0x268) → kernel_info
// ("LToP") → mle_header_offset (kernel_info+0x10) → the header, whose UUID
// and length are checked. A kernel without Secure Launch support gets an
// error wrapping ErrNoMLEHeader that says which link is missing (for the
// Debian kernel: a 16-byte kernel_info, without mle_header_offset). Linux
// Secure Launch v16 moved the header into the decompressed kernel and hands
// its offset to the loader at run time (slr_setup_dlme), so a v16 bzImage
// also has none to find here.
func FindMLEHeader(r io.ReaderAt, size int64) (*MLEHeader, *BzImage, error) {
	bz, err := ParseBzImage(r, size)
	if err != nil {
		return nil, nil, err
	}
	if bz.Version < bzMinKernelInfo {
		return nil, bz, fmt.Errorf("%w: boot protocol %d.%02d has no kernel_info (2.15 added it)", ErrNoMLEHeader, bz.Version>>8, bz.Version&0xFF)
	}
	if bz.KernelInfoOffset == 0 {
		return nil, bz, fmt.Errorf("%w: kernel_info_offset is 0", ErrNoMLEHeader)
	}
	kiOff := bz.SetupSize + int64(bz.KernelInfoOffset)
	ki, err := readAt(r, size, kiOff, kiMLEHeaderOffset, "kernel_info")
	if err != nil {
		return nil, bz, err
	}
	if string(ki[:4]) != kiMagic {
		return nil, bz, formatErr("kernel", kiOff, "kernel_info_offset %#x does not point at \"LToP\"", bz.KernelInfoOffset)
	}
	kiLen := binary.LittleEndian.Uint32(ki[kiSize:])
	if kiLen < kiWithMLE {
		return nil, bz, fmt.Errorf("%w: kernel_info has no mle_header_offset (its fixed part is %d bytes, Secure Launch needs %d; built without CONFIG_SECURE_LAUNCH)",
			ErrNoMLEHeader, kiLen, kiWithMLE)
	}
	mo, err := readAt(r, size, kiOff+kiMLEHeaderOffset, 4, "kernel_info.mle_header_offset")
	if err != nil {
		return nil, bz, err
	}
	h := &MLEHeader{OffsetInPM: binary.LittleEndian.Uint32(mo)}
	if h.OffsetInPM == 0 {
		return nil, bz, fmt.Errorf("%w: kernel_info.mle_header_offset is 0 (built without CONFIG_SECURE_LAUNCH)", ErrNoMLEHeader)
	}
	h.FileOffset = bz.SetupSize + int64(h.OffsetInPM)
	raw, err := readAt(r, size, h.FileOffset, MLEHeaderSize, "MLE header")
	if err != nil {
		return nil, bz, err
	}
	if err := h.unmarshal(raw); err != nil {
		return nil, bz, err
	}
	return h, bz, nil
}

func (h *MLEHeader) unmarshal(b []byte) error {
	f := &field{what: "kernel", b: b}
	copy(h.UUID[:], b[:16])
	h.HeaderLen = f.u32(16, "HeaderLen")
	h.Version = f.u32(20, "Version")
	h.EntryPoint = f.u32(24, "EntryPoint")
	h.FirstValidPage = f.u32(28, "FirstValidPage")
	h.Start = f.u32(32, "MleStart")
	h.End = f.u32(36, "MleEnd")
	h.Capabilities = f.u32(40, "Capabilities")
	h.CmdlineStart = f.u32(44, "CmdlineStart")
	h.CmdlineEnd = f.u32(48, "CmdlineEnd")
	switch {
	case h.UUID != MLEUUID:
		return formatErr("kernel", h.FileOffset, "mle_header_offset %#x points at UUID %x, not the MLE header UUID", h.OffsetInPM, h.UUID)
	case h.HeaderLen < MLEHeaderSize:
		return formatErr("kernel", h.FileOffset+16, "MLE HeaderLen %#x is shorter than %#x", h.HeaderLen, MLEHeaderSize)
	case h.End <= h.Start:
		return formatErr("kernel", h.FileOffset+36, "MLE end %#x is not after its start %#x", h.End, h.Start)
	case h.EntryPoint < h.Start || h.EntryPoint >= h.End:
		return formatErr("kernel", h.FileOffset+24, "MLE entry point %#x is outside the MLE [%#x, %#x)", h.EntryPoint, h.Start, h.End)
	}
	return f.err
}

// MarshalBinary encodes the 52-byte header (SDG Table 2-1 order).
func (h *MLEHeader) MarshalBinary() ([]byte, error) {
	b := make([]byte, MLEHeaderSize)
	copy(b, h.UUID[:])
	for i, v := range []uint32{h.HeaderLen, h.Version, h.EntryPoint, h.FirstValidPage, h.Start, h.End,
		h.Capabilities, h.CmdlineStart, h.CmdlineEnd} {
		put32(b, 16+4*int64(i), v)
	}
	return b, nil
}
