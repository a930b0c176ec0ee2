package slaunch

import (
	"bytes"
	"fmt"
)

// The Secure Launch Resource Table, pinned to ONE layout: Linux Secure
// Launch v16, include/linux/slr_table.h ([PATCH v16 17/38], 2026-05-15;
// the TrenchBoot Secure Launch Specification's SLRT), with AMD_INFO as the
// TrenchBoot AMD series and secure-kernel-loader include/slrt/slrt.h define
// it (v16 itself is Intel-only). SLR_TABLE_REVISION stayed 1 across
// incompatible revisions (entry header u16/u16 up to GRUB grub-sl-2.12-v9,
// u32/u32 since), so a table is only meaningful with this pin.
//
//	header        16 B  {u32 magic 0x4452544d; u16 revision 1; u16 architecture; u32 size; u32 max_size}
//	entry header   8 B  {u32 tag; u32 size}           size counts the header
//	DL_INFO       88 B  hdr; u64 dce_size, dce_base, dlme_size, dlme_base, dlme_entry,
//	                    dlme_header_offset, dlme_config_table; bl_context{u16 bootloader;
//	                    u16 reserved[3]; u64 context}; u64 dl_launch
//	LOG_INFO      24 B  hdr; u16 format; u16 reserved; u32 size; u64 addr
//	ENTRY_POLICY  16 B  hdr; u16 reserved[2]; u16 revision; u16 nr_entries;
//	                    then nr_entries × 56 B {u16 pcr; u16 entity_type; u16 flags;
//	                    u16 reserved; u64 size; u64 entity; char evt_info[32]}
//	INTEL_INFO   560 B  hdr; u64 boot_params_addr, txt_heap, saved_misc_enable_msr;
//	                    mtrr state {u64 default_mem_type, mtrr_vcnt; 32 × {u64 base, mask}}
//	AMD_INFO      56 B  hdr; setup_data {u64 next; u32 type; u32 len}; u64 slrt_size,
//	                    slrt_base, boot_params_base; u16 psp_version; u16 reserved[3]
//	END            8 B  tag 0xFFFF, size 8
const (
	SLRTMagic    = 0x4452544d
	SLRTRevision = 1

	slrtHeaderSize = 16
	slrEntryHdr    = 8

	TagDLInfo      = 0x0001
	TagLogInfo     = 0x0002
	TagEntryPolicy = 0x0003
	TagIntelInfo   = 0x0004
	TagAMDInfo     = 0x0005
	TagARMInfo     = 0x0006
	TagUEFIInfo    = 0x0007
	TagUEFIConfig  = 0x0008
	TagEnd         = 0xFFFF

	dlInfoSize      = 88
	logInfoSize     = 24
	policyHdrSize   = 16
	policyEntrySize = 56
	evtInfoLen      = 32
	mtrrPairs       = 32
	intelInfoSize   = 8 + 3*8 + 16 + mtrrPairs*16
	amdInfoSize     = 56

	// SLRPolicyRevision is ENTRY_POLICY's revision (SLR_POLICY_REVISION).
	SLRPolicyRevision = 1
	// BootloaderGRUB is the only bl_context.bootloader value defined, and
	// the only one SKL accepts (SLR_BOOTLOADER_GRUB).
	BootloaderGRUB = 1
	// LogFormatTPM20 is LOG_INFO.format for a TCG TPM 2.0 log.
	LogFormatTPM20 = 2
	// SetupSecureLaunch is the setup_data type AMD_INFO embeds (GRUB
	// GRUB_SETUP_SECURE_LAUNCH).
	SetupSecureLaunch = 10
)

// Policy entry flags and entity types (slr_table.h SLR_POLICY_*, SLR_ET_*).
const (
	PolicyFlagMeasured     = 0x1
	PolicyFlagImplicitSize = 0x2

	EntitySLRT       = 0x0001
	EntityBootParams = 0x0002
	EntitySetupData  = 0x0003
	EntityCmdline    = 0x0004
	EntityUEFIMemmap = 0x0005
	EntityRamdisk    = 0x0006
	EntityTXTOS2MLE  = 0x0010
	EntityUnused     = 0xFFFF
)

// SLRT is a Secure Launch Resource Table.
type SLRT struct {
	Arch Arch
	// MaxSize is the memory reserved for the table; 0 means "its size".
	MaxSize uint32
	Entries []SLREntry
}

// SLREntry is one TLV entry of the table.
type SLREntry interface {
	// Tag is the entry's tag.
	Tag() uint32
	// body encodes the entry after its 8-byte header.
	body() ([]byte, error)
}

// DLInfo is SLR_ENTRY_DL_INFO. DLMEEntry is an offset from DLMEBase.
type DLInfo struct {
	DCESize, DCEBase                uint64
	DLMESize, DLMEBase, DLMEEntry   uint64
	DLMEHeaderOffset, DLMEConfigTab uint64
	Bootloader                      uint16
	BootloaderContext               uint64
	DLLaunch                        uint64
}

// LogInfo is SLR_ENTRY_LOG_INFO.
type LogInfo struct {
	Format uint16
	Size   uint32
	Addr   uint64
}

// EntryPolicy is SLR_ENTRY_ENTRY_POLICY: what the DLME measures, in order.
type EntryPolicy struct {
	Revision uint16
	Entries  []PolicyEntry
}

// PolicyEntry is one slr_policy_entry.
type PolicyEntry struct {
	PCR        uint16
	EntityType uint16
	Flags      uint16
	Size       uint64
	Entity     uint64
	// EvtInfo is the event description, NUL-padded; the DLME logs it
	// without the NUL (strlen).
	EvtInfo [evtInfoLen]byte
}

// Description returns EvtInfo up to its NUL.
func (p PolicyEntry) Description() string {
	if i := bytes.IndexByte(p.EvtInfo[:], 0); i >= 0 {
		return string(p.EvtInfo[:i])
	}
	return string(p.EvtInfo[:])
}

// NewPolicyEntry returns a policy entry; desc must fit evt_info with its NUL.
func NewPolicyEntry(pcr, entityType, flags uint16, entity, size uint64, desc string) (PolicyEntry, error) {
	p := PolicyEntry{PCR: pcr, EntityType: entityType, Flags: flags, Entity: entity, Size: size}
	if len(desc) >= evtInfoLen || bytes.IndexByte([]byte(desc), 0) >= 0 {
		return p, fmt.Errorf("SLRT policy entry: description %q must be at most %d bytes without NUL", desc, evtInfoLen-1)
	}
	copy(p.EvtInfo[:], desc)
	return p, nil
}

// MTRRPair is one variable MTRR.
type MTRRPair struct{ Base, Mask uint64 }

// IntelInfo is SLR_ENTRY_INTEL_INFO.
type IntelInfo struct {
	BootParamsAddr, TXTHeap, MiscEnableMSR uint64
	MTRRDefType, MTRRVCnt                  uint64
	MTRRs                                  [mtrrPairs]MTRRPair
}

// AMDInfo is SLR_ENTRY_AMD_INFO: a setup_data node (type 10) chained into
// boot_params by the loader, plus where the SLRT and boot_params are.
type AMDInfo struct {
	Next           uint64
	Type, Len      uint32
	SLRTSize       uint64
	SLRTBase       uint64
	BootParamsBase uint64
	PSPVersion     uint16
}

// RawEntry is an entry slkit does not interpret (ARM, UEFI info/config,
// future tags), kept byte for byte.
type RawEntry struct {
	TagValue uint32
	Data     []byte // after the 8-byte header
}

func (DLInfo) Tag() uint32      { return TagDLInfo }
func (LogInfo) Tag() uint32     { return TagLogInfo }
func (EntryPolicy) Tag() uint32 { return TagEntryPolicy }
func (IntelInfo) Tag() uint32   { return TagIntelInfo }
func (AMDInfo) Tag() uint32     { return TagAMDInfo }
func (r RawEntry) Tag() uint32  { return r.TagValue }

func (d DLInfo) body() ([]byte, error) {
	b := make([]byte, dlInfoSize-slrEntryHdr)
	for i, v := range []uint64{d.DCESize, d.DCEBase, d.DLMESize, d.DLMEBase, d.DLMEEntry, d.DLMEHeaderOffset, d.DLMEConfigTab} {
		put64(b, int64(8*i), v)
	}
	put16(b, 56, d.Bootloader) // bl_context.bootloader; reserved[3] stay 0
	put64(b, 64, d.BootloaderContext)
	put64(b, 72, d.DLLaunch)
	return b, nil
}

func (l LogInfo) body() ([]byte, error) {
	b := make([]byte, logInfoSize-slrEntryHdr)
	put16(b, 0, l.Format)
	put32(b, 4, l.Size)
	put64(b, 8, l.Addr)
	return b, nil
}

func (p EntryPolicy) body() ([]byte, error) {
	if len(p.Entries) > 0xFFFF {
		return nil, fmt.Errorf("SLRT: %d policy entries do not fit nr_entries", len(p.Entries))
	}
	b := make([]byte, policyHdrSize-slrEntryHdr+len(p.Entries)*policyEntrySize)
	put16(b, 4, p.Revision)
	put16(b, 6, uint16(len(p.Entries)))
	for i, e := range p.Entries {
		o := int64(8 + i*policyEntrySize)
		put16(b, o, e.PCR)
		put16(b, o+2, e.EntityType)
		put16(b, o+4, e.Flags)
		put64(b, o+8, e.Size)
		put64(b, o+16, e.Entity)
		copy(b[o+24:o+24+evtInfoLen], e.EvtInfo[:])
	}
	return b, nil
}

func (x IntelInfo) body() ([]byte, error) {
	b := make([]byte, intelInfoSize-slrEntryHdr)
	for i, v := range []uint64{x.BootParamsAddr, x.TXTHeap, x.MiscEnableMSR, x.MTRRDefType, x.MTRRVCnt} {
		put64(b, int64(8*i), v)
	}
	for i, m := range x.MTRRs {
		put64(b, int64(40+16*i), m.Base)
		put64(b, int64(48+16*i), m.Mask)
	}
	return b, nil
}

func (a AMDInfo) body() ([]byte, error) {
	b := make([]byte, amdInfoSize-slrEntryHdr)
	put64(b, 0, a.Next)
	put32(b, 8, a.Type)
	put32(b, 12, a.Len)
	put64(b, 16, a.SLRTSize)
	put64(b, 24, a.SLRTBase)
	put64(b, 32, a.BootParamsBase)
	put16(b, 40, a.PSPVersion)
	return b, nil
}

func (r RawEntry) body() ([]byte, error) { return append([]byte(nil), r.Data...), nil }

// marshalEntry encodes one entry with its header.
func marshalEntry(e SLREntry) ([]byte, error) {
	body, err := e.body()
	if err != nil {
		return nil, err
	}
	if e.Tag() == TagEnd {
		return nil, fmt.Errorf("SLRT: END is added by MarshalBinary, not listed")
	}
	b := make([]byte, slrEntryHdr, slrEntryHdr+len(body))
	put32(b, 0, e.Tag())
	put32(b, 4, uint32(slrEntryHdr+len(body)))
	return append(b, body...), nil
}

// MarshalBinary encodes the table: header, the entries in order, END. The
// header's size is the encoded length; max_size is MaxSize, or the size
// when MaxSize is 0.
func (t *SLRT) MarshalBinary() ([]byte, error) {
	b := make([]byte, slrtHeaderSize)
	for _, e := range t.Entries {
		eb, err := marshalEntry(e)
		if err != nil {
			return nil, err
		}
		b = append(b, eb...)
	}
	b = append(b, 0xFF, 0xFF, 0, 0, slrEntryHdr, 0, 0, 0) // END: tag 0xFFFF, size 8
	if uint64(len(b)) > 0xFFFFFFFF {
		return nil, fmt.Errorf("SLRT: %d bytes do not fit its u32 size", len(b))
	}
	max := t.MaxSize
	if max == 0 {
		max = uint32(len(b))
	}
	if uint32(len(b)) > max {
		return nil, fmt.Errorf("SLRT: %d bytes exceed max_size %d", len(b), max)
	}
	put32(b, 0, SLRTMagic)
	put16(b, 4, SLRTRevision)
	put16(b, 6, uint16(t.Arch))
	put32(b, 8, uint32(len(b)))
	put32(b, 12, max)
	return b, nil
}

// Find returns the first entry with tag, or nil.
func (t *SLRT) Find(tag uint32) SLREntry {
	for _, e := range t.Entries {
		if e.Tag() == tag {
			return e
		}
	}
	return nil
}

// MeasuredBytes returns what the DLME extends for the policy's SLRT entity
// (SLR_ET_SLRT, flag IMPLICIT_SIZE): in revision 1 only the architecture's
// info entry is measured, with its address fields zeroed, "since they
// should not be measured" — INTEL_INFO without boot_params_addr and
// txt_heap (Linux v16 sl_main.c sl_extend_slrt), AMD_INFO without next,
// slrt_base and boot_params_base (TrenchBoot AMD series sl_main.c).
func (t *SLRT) MeasuredBytes() ([]byte, error) {
	switch t.Arch {
	case ArchTXT:
		e, ok := t.Find(TagIntelInfo).(IntelInfo)
		if !ok {
			return nil, fmt.Errorf("SLRT: an Intel TXT table needs an INTEL_INFO entry")
		}
		e.BootParamsAddr, e.TXTHeap = 0, 0
		return marshalEntry(e)
	case ArchSKINIT:
		e, ok := t.Find(TagAMDInfo).(AMDInfo)
		if !ok {
			return nil, fmt.Errorf("SLRT: an AMD SKINIT table needs an AMD_INFO entry")
		}
		e.Next, e.SLRTBase, e.BootParamsBase = 0, 0, 0
		return marshalEntry(e)
	}
	return nil, fmt.Errorf("SLRT: architecture %d has no measured entry", t.Arch)
}
