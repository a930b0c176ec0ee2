package slaunch

import "bytes"

// ParseSLRT parses a table in the pinned layout (see SLRT). b may be
// longer than the table (the memory reserved for it); the header's size
// says where it ends. Every entry must lie inside the table with its
// exact size, reserved fields must be zero, every evt_info must be
// NUL-terminated, and END must be the last entry, ending at size. Errors
// wrap ErrMalformed.
func ParseSLRT(b []byte) (*SLRT, error) {
	f := &field{what: "SLRT", b: b}
	magic, rev, arch := f.u32(0, "magic"), f.u16(4, "revision"), f.u16(6, "architecture")
	size, max := f.u32(8, "size"), f.u32(12, "max_size")
	switch {
	case f.err != nil:
		return nil, f.err
	case magic != SLRTMagic:
		return nil, formatErr("SLRT", 0, "magic %#x, want %#x", magic, SLRTMagic)
	case rev != SLRTRevision:
		return nil, formatErr("SLRT", 4, "revision %d: slkit reads revision %d in the Linux Secure Launch v16 layout", rev, SLRTRevision)
	case size < slrtHeaderSize+slrEntryHdr:
		return nil, formatErr("SLRT", 8, "size %d is smaller than a header and an END entry", size)
	case uint64(size) > uint64(len(b)):
		return nil, formatErr("SLRT", 8, "size %d exceeds the %d bytes given", size, len(b))
	case size > max:
		return nil, formatErr("SLRT", 12, "size %d exceeds max_size %d", size, max)
	}
	t := &SLRT{Arch: Arch(arch), MaxSize: max}
	f.b = b[:size] // entries must stay inside the table
	off := int64(slrtHeaderSize)
	for {
		tag, esz := f.u32(off, "entry tag"), int64(f.u32(off+4, "entry size"))
		if f.err != nil {
			return nil, f.err
		}
		if esz < slrEntryHdr || esz > int64(size)-off {
			return nil, formatErr("SLRT", off+4, "entry tag %#x: size %d does not fit the table (%d bytes left)", tag, esz, int64(size)-off)
		}
		if tag == TagEnd {
			if esz != slrEntryHdr || off+esz != int64(size) {
				return nil, formatErr("SLRT", off, "END entry (size %d) does not end the %d-byte table", esz, size)
			}
			return t, nil
		}
		e, err := parseEntry(f, tag, off, esz)
		if err != nil {
			return nil, err
		}
		t.Entries = append(t.Entries, e)
		off += esz
	}
}

func parseEntry(f *field, tag uint32, off, size int64) (SLREntry, error) {
	want := map[uint32]int64{TagDLInfo: dlInfoSize, TagLogInfo: logInfoSize, TagIntelInfo: intelInfoSize, TagAMDInfo: amdInfoSize}
	if w, ok := want[tag]; ok && size != w {
		return nil, formatErr("SLRT", off+4, "entry tag %d: size %d, want %d", tag, size, w)
	}
	zero := func(o, n int64, name string) {
		if f.err == nil && !allZero(f.b[o:o+n]) {
			f.fail(o, "%s is not zero", name)
		}
	}
	switch tag {
	case TagDLInfo:
		d := DLInfo{
			DCESize: f.u64(off+8, "dce_size"), DCEBase: f.u64(off+16, "dce_base"),
			DLMESize: f.u64(off+24, "dlme_size"), DLMEBase: f.u64(off+32, "dlme_base"), DLMEEntry: f.u64(off+40, "dlme_entry"),
			DLMEHeaderOffset: f.u64(off+48, "dlme_header_offset"), DLMEConfigTab: f.u64(off+56, "dlme_config_table"),
			Bootloader: f.u16(off+64, "bl_context.bootloader"), BootloaderContext: f.u64(off+72, "bl_context.context"),
			DLLaunch: f.u64(off+80, "dl_launch"),
		}
		zero(off+66, 6, "bl_context.reserved")
		return d, f.err
	case TagLogInfo:
		l := LogInfo{Format: f.u16(off+8, "format"), Size: f.u32(off+12, "size"), Addr: f.u64(off+16, "addr")}
		zero(off+10, 2, "LOG_INFO reserved")
		return l, f.err
	case TagEntryPolicy:
		if size < policyHdrSize {
			return nil, formatErr("SLRT", off+4, "ENTRY_POLICY size %d is smaller than its %d-byte header", size, policyHdrSize)
		}
		zero(off+8, 4, "ENTRY_POLICY reserved")
		p := EntryPolicy{Revision: f.u16(off+12, "policy revision")}
		n := int64(f.u16(off+14, "nr_entries"))
		if f.err == nil && size != policyHdrSize+n*policyEntrySize {
			return nil, formatErr("SLRT", off+14, "ENTRY_POLICY has %d entries (%d bytes) but size %d", n, policyHdrSize+n*policyEntrySize, size)
		}
		for i := int64(0); i < n && f.err == nil; i++ {
			o := off + policyHdrSize + i*policyEntrySize
			e := PolicyEntry{PCR: f.u16(o, "pcr"), EntityType: f.u16(o+2, "entity_type"), Flags: f.u16(o+4, "flags"),
				Size: f.u64(o+8, "size"), Entity: f.u64(o+16, "entity")}
			zero(o+6, 2, "policy entry reserved")
			copy(e.EvtInfo[:], f.bytes(o+24, evtInfoLen, "evt_info"))
			if f.err == nil && bytes.IndexByte(e.EvtInfo[:], 0) < 0 {
				f.fail(o+24, "evt_info of policy entry %d is not NUL-terminated", i)
			}
			p.Entries = append(p.Entries, e)
		}
		return p, f.err
	case TagIntelInfo:
		x := IntelInfo{BootParamsAddr: f.u64(off+8, "boot_params_addr"), TXTHeap: f.u64(off+16, "txt_heap"),
			MiscEnableMSR: f.u64(off+24, "saved_misc_enable_msr"), MTRRDefType: f.u64(off+32, "default_mem_type"),
			MTRRVCnt: f.u64(off+40, "mtrr_vcnt")}
		for i := range x.MTRRs {
			x.MTRRs[i] = MTRRPair{f.u64(off+48+16*int64(i), "mtrr_physbase"), f.u64(off+56+16*int64(i), "mtrr_physmask")}
		}
		return x, f.err
	case TagAMDInfo:
		a := AMDInfo{Next: f.u64(off+8, "next"), Type: f.u32(off+16, "type"), Len: f.u32(off+20, "len"),
			SLRTSize: f.u64(off+24, "slrt_size"), SLRTBase: f.u64(off+32, "slrt_base"),
			BootParamsBase: f.u64(off+40, "boot_params_base"), PSPVersion: f.u16(off+48, "psp_version")}
		zero(off+50, 6, "AMD_INFO reserved")
		return a, f.err
	}
	return RawEntry{TagValue: tag, Data: f.bytes(off+slrEntryHdr, size-slrEntryHdr, "entry data")}, f.err
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
