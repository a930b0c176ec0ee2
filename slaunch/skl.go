package slaunch

import "fmt"

// SKINIT and Secure Kernel Loader limits (AMD APM Vol. 2 §15.27.5 "Secure
// Loader Block": 64 KiB, 64 KiB aligned, below 4 GiB; GRUB
// loader/slaunch/skl.c keeps the last 4 KiB page for the SLRT).
const (
	SLBSize      = 0x10000
	slrtPageSize = 0x1000
	// SKLMaxImage is the largest SKL image GRUB accepts: the SLB minus the
	// SLRT page.
	SKLMaxImage = SLBSize - slrtPageSize
	// sklInfoSize is skl_info {u8 uuid[16]; u32 version} (SKL main.c).
	sklInfoSize = 20
	// sklVersion is the only skl_info.version GRUB accepts (GRUB_SKL_VERSION).
	sklVersion = 0
)

// SKLUUID is skl_info's UUID 78f1268e-0492-11e9-832a-c85b76c4cc02, stored
// as these bytes (secure-kernel-loader main.c; GRUB skl.c).
var SKLUUID = [16]byte{0x78, 0xf1, 0x26, 0x8e, 0x04, 0x92, 0x11, 0xe9, 0x83, 0x2a, 0xc8, 0x5b, 0x76, 0xc4, 0xcc, 0x02}

// SKLLayout names where the SL header keeps skl_info_offset and
// bootloader_data_offset. Both layouts start with the two words SKINIT
// itself defines (APM §15.27.5): entry point offset @0, measured length @2.
type SKLLayout int

const (
	// SKLLayoutWords is secure-kernel-loader head.S since commit 0a372c7:
	// {u16 entry; u16 measured; u16 skl_info_offset; u16 bootloader_data_offset}.
	SKLLayoutWords SKLLayout = iota
	// SKLLayoutAMD is the later header that follows AMD's SLB layout (GRUB
	// struct grub_sl_header, 2024): entry @0, measured @2, 62 reserved
	// bytes, skl_info_offset @66, bootloader_data_offset @68.
	SKLLayoutAMD
)

func (l SKLLayout) String() string {
	if l == SKLLayoutAMD {
		return "amd-sl-header"
	}
	return "skl-4-words"
}

func (l SKLLayout) offsets() (info, data int64) {
	if l == SKLLayoutAMD {
		return 66, 68
	}
	return 4, 6
}

// SKL is a parsed AMD Secure Kernel Loader image (the SL image placed at
// offset 0 of the SLB).
type SKL struct {
	Layout SKLLayout `json:"layout"`
	// Entry is the offset of the first instruction SKINIT jumps to.
	Entry uint16 `json:"entry"`
	// MeasuredSize is how many bytes SKINIT sends to the TPM (_TPM_Hash).
	MeasuredSize uint16 `json:"measured_size"`
	// InfoOffset is the offset of skl_info.
	InfoOffset uint16 `json:"skl_info_offset"`
	// BootloaderDataOffset is where the loader puts the SLRT in the SLB.
	BootloaderDataOffset uint16   `json:"bootloader_data_offset"`
	UUID                 [16]byte `json:"uuid"`
	Version              uint32   `json:"version"`
	// Size is the image size (what a loader copies into the SLB).
	Size int `json:"size"`

	raw []byte
}

// ParseSKL parses an SKL image and applies GRUB's checks
// (loader/slaunch/skl.c grub_skl_set_module): the image leaves the SLRT
// page free, the measured part lies in the image and covers the entry
// point, the SL header and skl_info's UUID, the SLRT lies after the
// measured part and has a page, skl_info carries the SKL UUID and version 0.
// The header layout is detected: the 4-word layout of SKL head.S first,
// then the AMD SL header layout. Errors wrap ErrMalformed.
func ParseSKL(b []byte) (*SKL, error) {
	s, err := parseSKL(b, SKLLayoutWords)
	if err == nil {
		return s, nil
	}
	if s2, err2 := parseSKL(b, SKLLayoutAMD); err2 == nil {
		return s2, nil
	}
	return nil, err
}

func parseSKL(b []byte, l SKLLayout) (*SKL, error) {
	f := &field{what: "SKL", b: b}
	io, do := l.offsets()
	if len(b) > SKLMaxImage {
		return nil, formatErr("SKL", 0, "image is %d bytes; it must leave the last %#x bytes of the %#x-byte SLB for the SLRT (at most %d)",
			len(b), slrtPageSize, SLBSize, SKLMaxImage)
	}
	s := &SKL{Layout: l, Size: len(b), raw: append([]byte(nil), b...),
		Entry: f.u16(0, "SL header entry"), MeasuredSize: f.u16(2, "SL header measured length"),
		InfoOffset: f.u16(io, "skl_info_offset"), BootloaderDataOffset: f.u16(do, "bootloader_data_offset")}
	if f.err != nil {
		return nil, f.err
	}
	ms := int64(s.MeasuredSize)
	switch {
	case ms > int64(len(b)):
		f.fail(2, "measured length %#x exceeds the %#x-byte image", ms, len(b))
	case ms < do+2:
		f.fail(2, "measured length %#x does not cover the %d-byte SL header", ms, do+2)
	case int64(s.Entry) >= ms:
		f.fail(0, "entry point %#x is not inside the measured %#x bytes", s.Entry, ms)
	case int64(s.InfoOffset)+16 > ms:
		f.fail(io, "skl_info at %#x: its UUID is not inside the measured %#x bytes", s.InfoOffset, ms)
	case SLBSize-int64(s.BootloaderDataOffset) < slrtPageSize:
		f.fail(do, "bootloader_data_offset %#x leaves less than %#x bytes of the SLB for the SLRT", s.BootloaderDataOffset, slrtPageSize)
	case ms > int64(s.BootloaderDataOffset):
		f.fail(do, "bootloader_data_offset %#x lies inside the measured %#x bytes", s.BootloaderDataOffset, ms)
	}
	if f.err != nil {
		return nil, f.err
	}
	info := int64(s.InfoOffset)
	if u := f.bytes(info, 16, "skl_info UUID"); u != nil {
		copy(s.UUID[:], u)
	}
	s.Version = f.u32(info+16, "skl_info version")
	switch {
	case f.err != nil:
	case s.UUID != SKLUUID:
		f.fail(info, "skl_info UUID %x is not the SKL UUID %x", s.UUID, SKLUUID)
	case s.Version != sklVersion:
		f.fail(info+16, "skl_info version %d, want %d", s.Version, sklVersion)
	}
	if f.err != nil {
		return nil, f.err
	}
	return s, nil
}

// Measured returns the bytes SKINIT measures: the first MeasuredSize
// bytes of the image, which the TPM hashes into PCR17.
func (s *SKL) Measured() []byte { return append([]byte(nil), s.raw[:s.MeasuredSize]...) }

// Image returns a copy of the whole image.
func (s *SKL) Image() []byte { return append([]byte(nil), s.raw...) }

// MarshalBinary writes the header fields and skl_info back over a copy of
// the parsed image: an unmodified SKL gives back its exact bytes.
func (s *SKL) MarshalBinary() ([]byte, error) {
	b := append([]byte(nil), s.raw...)
	io, do := s.Layout.offsets()
	info := int64(s.InfoOffset)
	if do+2 > int64(len(b)) || info+sklInfoSize > int64(len(b)) {
		return nil, fmt.Errorf("SKL: not a parsed image")
	}
	put16(b, 0, s.Entry)
	put16(b, 2, s.MeasuredSize)
	put16(b, io, s.InfoOffset)
	put16(b, do, s.BootloaderDataOffset)
	copy(b[info:], s.UUID[:])
	put32(b, info+16, s.Version)
	return b, nil
}
