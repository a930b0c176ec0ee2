package slaunch

import (
	"bytes"

	"github.com/slkit/slkit/tpm"
)

// Constants of the Authenticated Code Module format (Intel TXT SDG
// Appendix A.1, Table A-1 "Authenticated Code Module Format" and the
// "Chipset AC Module Information Table"; the same layout in GRUB
// include/grub/i386/txt.h struct grub_txt_acm_header and
// grub_txt_acm_info_table).
const (
	acmModuleTypeChipset = 2      // ModuleType: chipset AC module
	acmSubTypeTXT        = 0      // ModuleSubType 0; 1 (S-ACM) cannot be used for SENTER
	acmVendorIntel       = 0x8086 // ModuleVendor
	acmHeaderMinSize     = 128    // header fields up to ScratchSize (offset 124)
	acmInfoTableSize     = 48     // info table through TPMInfoList (version 5)
	acmChipsetIDSize     = 16     // {Flags u32; VID, DID, RID, reserved u16; ExtendedID u32}
	acmProcessorIDSize   = 24     // {FMS, FMSMask u32; PlatformID, PlatformMask u64}
	// ACMTypeSINIT is the info table's ChipsetACMType of a SINIT ACM (0 is a BIOS ACM).
	ACMTypeSINIT = 1
	// ACMFlagPreProduction and ACMFlagDebugSigned are bits of the header's Flags.
	ACMFlagPreProduction = 1 << 14
	ACMFlagDebugSigned   = 1 << 15
	// acmChipsetRevisionMask is ChipsetID.Flags bit 0: RevisionID is a mask.
	acmChipsetRevisionMask = 1 << 0
)

// ACMUUID is the info table UUID of a chipset ACM, dwords 7FC03AAA
// 18DB46A7 8F69AC2E 5A7F418D stored little-endian (SDG Appendix A.1, Chipset AC Module Information Table;
// GRUB GRUB_TXT_ACM_UUID).
var ACMUUID = [16]byte{0xaa, 0x3a, 0xc0, 0x7f, 0xa7, 0x46, 0xdb, 0x18, 0x2e, 0xac, 0x69, 0x8f, 0x8d, 0x41, 0x7f, 0x5a}

// ACM is a parsed Authenticated Code Module: the header fields slkit uses,
// the chipset information table and its ID lists. Offsets are in bytes from
// the start of the module.
type ACM struct {
	// Header (SDG Table A-1), at the offsets given.
	ModuleType    uint16 // @0
	ModuleSubType uint16 // @2
	HeaderLen     uint32 // @4, in dwords
	HeaderVersion uint32 // @8
	ChipsetID     uint16 // @12
	Flags         uint16 // @14: bit 14 pre-production, bit 15 debug signed
	ModuleVendor  uint32 // @16
	Date          uint32 // @20, BCD 0xYYYYMMDD
	Size          uint32 // @24, in dwords
	TXTSVN        uint16 // @28
	SESVN         uint16 // @30
	EntryPoint    uint32 // @52
	KeySize       uint32 // @120, in dwords
	ScratchSize   uint32 // @124, in dwords

	// Info is the chipset information table at (HeaderLen+ScratchSize)*4.
	Info       ACMInfo
	InfoOffset int64
	// Chipsets and Processors are the ID lists the ACM runs on.
	Chipsets   []ChipsetID
	Processors []ProcessorID
	// TPM is the TPM information list (info table version 5 and later).
	TPM *ACMTPMInfo

	raw []byte
}

// ACMInfo is the Chipset AC Module Information Table (SDG Appendix A.1; GRUB
// struct grub_txt_acm_info_table), offsets relative to the table.
type ACMInfo struct {
	UUID               [16]byte // @0
	ChipsetACMType     uint8    // @16: 0 BIOS, 1 SINIT
	Version            uint8    // @17: 3+ capabilities, 4+ processor list, 5+ TPM list
	Length             uint16   // @18: fields past it are absent
	ChipsetIDList      uint32   // @20: offset from the start of the ACM
	OsSinitDataVer     uint32   // @24: highest OsSinitData version supported
	MinMLEHeaderVer    uint32   // @28
	Capabilities       uint32   // @32: MLE/SINIT capabilities (Cap* bits)
	ACMVersionRevision uint32   // @36
	ProcessorIDList    uint32   // @40: offset from the start of the ACM
	TPMInfoList        uint32   // @44: offset from the start of the ACM
}

// ChipsetID is one entry of the chipset ID list.
type ChipsetID struct {
	Flags      uint32 // bit 0: RevisionID is a mask
	VendorID   uint16
	DeviceID   uint16
	RevisionID uint16
	ExtendedID uint32
}

// ProcessorID is one entry of the processor ID list.
type ProcessorID struct {
	FMS          uint32
	FMSMask      uint32
	PlatformID   uint64
	PlatformMask uint64
}

// ACMTPMInfo is the TPM information list: capabilities (bits 1:0 PCR
// extend policy, bits 5:2 TPM family) and the hash algorithms the ACM
// supports.
type ACMTPMInfo struct {
	Capabilities uint32
	Algs         []tpm.Alg
}

// TPM families in ACMTPMInfo.Capabilities bits 5:2 (GRUB
// GRUB_TXT_TPM_CAPS_FAMILY_*).
const (
	acmTPMFamilyDiscrete12 = 1
	acmTPMFamilyDiscrete20 = 2
	acmTPMFamilyFirmware20 = 8
)

// SupportsTPM2 reports whether the ACM supports a discrete or firmware TPM 2.0.
func (t *ACMTPMInfo) SupportsTPM2() bool {
	fam := (t.Capabilities >> 2) & 0xF
	return fam&(acmTPMFamilyDiscrete20|acmTPMFamilyFirmware20) != 0
}

// ParseACM parses an Authenticated Code Module with the checks of GRUB's
// is_acmod and get_acmod_* (loader/slaunch/acmod.c): the image is exactly
// Size*4 bytes, ModuleType 2, vendor Intel, the info table and every ID list
// lie inside the module, and the info table carries the ACM UUID. Errors
// wrap ErrMalformed.
func ParseACM(b []byte) (*ACM, error) {
	f := &field{what: "SINIT ACM", b: b}
	if len(b) < acmHeaderMinSize {
		return nil, formatErr(f.what, 0, "%d bytes: shorter than the %d-byte ACM header", len(b), acmHeaderMinSize)
	}
	a := &ACM{
		ModuleType: f.u16(0, "ModuleType"), ModuleSubType: f.u16(2, "ModuleSubType"),
		HeaderLen: f.u32(4, "HeaderLen"), HeaderVersion: f.u32(8, "HeaderVersion"),
		ChipsetID: f.u16(12, "ChipsetID"), Flags: f.u16(14, "Flags"),
		ModuleVendor: f.u32(16, "ModuleVendor"), Date: f.u32(20, "Date"), Size: f.u32(24, "Size"),
		TXTSVN: f.u16(28, "TxtSVN"), SESVN: f.u16(30, "SeSVN"), EntryPoint: f.u32(52, "EntryPoint"),
		KeySize: f.u32(120, "KeySize"), ScratchSize: f.u32(124, "ScratchSize"),
		raw: append([]byte(nil), b...),
	}
	switch {
	case uint64(a.Size)*4 != uint64(len(b)):
		f.fail(24, "Size is %d dwords (%d bytes) but the file has %d bytes", a.Size, uint64(a.Size)*4, len(b))
	case a.ModuleType != acmModuleTypeChipset:
		f.fail(0, "ModuleType %d, want %d (chipset AC module)", a.ModuleType, acmModuleTypeChipset)
	case a.ModuleVendor != acmVendorIntel:
		f.fail(16, "ModuleVendor %#x, want %#x (Intel)", a.ModuleVendor, acmVendorIntel)
	}
	a.InfoOffset = (int64(a.HeaderLen) + int64(a.ScratchSize)) * 4
	f.need(a.InfoOffset, acmInfoTableSize, "info table at (HeaderLen+ScratchSize)*4")
	io := a.InfoOffset
	if f.err == nil {
		copy(a.Info.UUID[:], b[io:io+16])
		a.Info.ChipsetACMType = f.u8(io+16, "ChipsetACMType")
		a.Info.Version = f.u8(io+17, "Version")
		a.Info.Length = f.u16(io+18, "Length")
		a.Info.ChipsetIDList = f.u32(io+20, "ChipsetIDList")
		a.Info.OsSinitDataVer = f.u32(io+24, "OsSinitDataVer")
		a.Info.MinMLEHeaderVer = f.u32(io+28, "MinMleHeaderVer")
		a.Info.Capabilities = f.u32(io+32, "Capabilities")
		a.Info.ACMVersionRevision = f.u32(io+36, "AcmVersionRevision")
		a.Info.ProcessorIDList = f.u32(io+40, "ProcessorIDList")
		a.Info.TPMInfoList = f.u32(io+44, "TPMInfoList")
		if a.Info.UUID != ACMUUID {
			f.fail(io, "info table UUID %x is not the ACM UUID", a.Info.UUID)
		}
	}
	a.Chipsets = parseChipsetIDs(f, int64(a.Info.ChipsetIDList))
	if a.hasProcessorList() {
		a.Processors = parseProcessorIDs(f, int64(a.Info.ProcessorIDList))
	}
	if a.hasTPMInfo() {
		a.TPM = parseACMTPMInfo(f, int64(a.Info.TPMInfoList))
	}
	if f.err != nil {
		return nil, f.err
	}
	return a, nil
}

func parseChipsetIDs(f *field, off int64) []ChipsetID {
	n := int64(f.u32(off, "ChipsetIDList count"))
	if !f.need(off+4, n*acmChipsetIDSize, "chipset ID list") {
		return nil
	}
	out := make([]ChipsetID, n)
	for i := range out {
		e := off + 4 + int64(i)*acmChipsetIDSize
		out[i] = ChipsetID{
			Flags: f.u32(e, "chipset Flags"), VendorID: f.u16(e+4, "VendorID"), DeviceID: f.u16(e+6, "DeviceID"),
			RevisionID: f.u16(e+8, "RevisionID"), ExtendedID: f.u32(e+12, "ExtendedID"),
		}
	}
	return out
}

func parseProcessorIDs(f *field, off int64) []ProcessorID {
	n := int64(f.u32(off, "ProcessorIDList count"))
	if !f.need(off+4, n*acmProcessorIDSize, "processor ID list") {
		return nil
	}
	out := make([]ProcessorID, n)
	for i := range out {
		e := off + 4 + int64(i)*acmProcessorIDSize
		out[i] = ProcessorID{
			FMS: f.u32(e, "FMS"), FMSMask: f.u32(e+4, "FMSMask"),
			PlatformID: f.u64(e+8, "PlatformID"), PlatformMask: f.u64(e+16, "PlatformMask"),
		}
	}
	return out
}

func parseACMTPMInfo(f *field, off int64) *ACMTPMInfo {
	t := &ACMTPMInfo{Capabilities: f.u32(off, "TPM Capabilities")}
	n := int64(f.u16(off+4, "TPM algorithm count"))
	if !f.need(off+6, n*2, "TPM algorithm list") {
		return nil
	}
	for i := int64(0); i < n; i++ {
		t.Algs = append(t.Algs, tpm.Alg(f.u16(off+6+2*i, "TPM algorithm")))
	}
	return t
}

// An info table field exists when the table's Version has it and its Length
// covers it (GRUB acmod.c info_table_get: offsetof + size <= Length).
func (a *ACM) hasField(minVersion uint8, end uint16) bool {
	return a.Info.Version >= minVersion && a.Info.Length >= end
}

// hasCapabilities: Capabilities @32 (version 3).
func (a *ACM) hasCapabilities() bool { return a.hasField(3, 36) }

// hasProcessorList: ProcessorIDList @40 (version 4).
func (a *ACM) hasProcessorList() bool { return a.hasField(4, 44) }

// hasTPMInfo: TPMInfoList @44 (version 5), when not 0.
func (a *ACM) hasTPMInfo() bool { return a.hasField(5, 48) && a.Info.TPMInfoList != 0 }

// IsSINIT reports whether the module is a SINIT ACM usable for SENTER
// (ChipsetACMType 1, ModuleSubType 0).
func (a *ACM) IsSINIT() bool {
	return a.Info.ChipsetACMType == ACMTypeSINIT && a.ModuleSubType == acmSubTypeTXT
}

// DebugSigned reports whether the module is debug-signed (Flags bit 15).
func (a *ACM) DebugSigned() bool { return a.Flags&ACMFlagDebugSigned != 0 }

// MarshalBinary re-encodes every parsed field at the offset it was read
// from, over a copy of the parsed bytes: an unmodified ACM gives back the
// exact image it was parsed from.
func (a *ACM) MarshalBinary() ([]byte, error) {
	b := append([]byte(nil), a.raw...)
	if len(b) < acmHeaderMinSize || a.InfoOffset+acmInfoTableSize > int64(len(b)) {
		return nil, formatErr("SINIT ACM", 0, "not a parsed ACM")
	}
	put16(b, 0, a.ModuleType)
	put16(b, 2, a.ModuleSubType)
	put32(b, 4, a.HeaderLen)
	put32(b, 8, a.HeaderVersion)
	put16(b, 12, a.ChipsetID)
	put16(b, 14, a.Flags)
	put32(b, 16, a.ModuleVendor)
	put32(b, 20, a.Date)
	put32(b, 24, a.Size)
	put16(b, 28, a.TXTSVN)
	put16(b, 30, a.SESVN)
	put32(b, 52, a.EntryPoint)
	put32(b, 120, a.KeySize)
	put32(b, 124, a.ScratchSize)
	io := a.InfoOffset
	copy(b[io:], a.Info.UUID[:])
	b[io+16], b[io+17] = a.Info.ChipsetACMType, a.Info.Version
	put16(b, io+18, a.Info.Length)
	for i, v := range []uint32{a.Info.ChipsetIDList, a.Info.OsSinitDataVer, a.Info.MinMLEHeaderVer,
		a.Info.Capabilities, a.Info.ACMVersionRevision, a.Info.ProcessorIDList, a.Info.TPMInfoList} {
		put32(b, io+20+4*int64(i), v)
	}
	off := int64(a.Info.ChipsetIDList)
	if off+4+int64(len(a.Chipsets))*acmChipsetIDSize > int64(len(b)) {
		return nil, formatErr("SINIT ACM", off, "chipset ID list does not fit")
	}
	put32(b, off, uint32(len(a.Chipsets)))
	for i, c := range a.Chipsets {
		e := off + 4 + int64(i)*acmChipsetIDSize
		put32(b, e, c.Flags)
		put16(b, e+4, c.VendorID)
		put16(b, e+6, c.DeviceID)
		put16(b, e+8, c.RevisionID)
		put32(b, e+12, c.ExtendedID)
	}
	if a.hasProcessorList() {
		off = int64(a.Info.ProcessorIDList)
		if off+4+int64(len(a.Processors))*acmProcessorIDSize > int64(len(b)) {
			return nil, formatErr("SINIT ACM", off, "processor ID list does not fit")
		}
		put32(b, off, uint32(len(a.Processors)))
		for i, p := range a.Processors {
			e := off + 4 + int64(i)*acmProcessorIDSize
			put32(b, e, p.FMS)
			put32(b, e+4, p.FMSMask)
			put64(b, e+8, p.PlatformID)
			put64(b, e+16, p.PlatformMask)
		}
	}
	if a.TPM != nil {
		off = int64(a.Info.TPMInfoList)
		if off+6+2*int64(len(a.TPM.Algs)) > int64(len(b)) {
			return nil, formatErr("SINIT ACM", off, "TPM info list does not fit")
		}
		put32(b, off, a.TPM.Capabilities)
		put16(b, off+4, uint16(len(a.TPM.Algs)))
		for i, alg := range a.TPM.Algs {
			put16(b, off+6+2*int64(i), uint16(alg))
		}
	}
	return b, nil
}

// Equal reports whether two parsed modules have the same bytes.
func (a *ACM) Equal(o *ACM) bool { return bytes.Equal(a.raw, o.raw) }
