package slaunch

import "fmt"

// OsSinitData (Intel TXT SDG Appendix C.4 "OS to SINIT Data Format",
// version 7 for TPM 2.0; GRUB include/grub/i386/txt.h struct
// grub_txt_os_sinit_data and the LOG_POINTER2_1 element):
//
//	@0  u64 size of the table, counting this field (SDG C: every heap table)
//	@8  u32 Version = 7
//	@12 u32 Flags: bit 0 PCR extend policy, 0 max agility, 1 max performance
//	@16 u64 MLE PageTableBase   @24 u64 MLE Size   @32 u64 MLE HeaderBase
//	@40 u64 PMR low base        @48 u64 PMR low size
//	@56 u64 PMR high base       @64 u64 PMR high size
//	@72 u64 LCP PO base         @80 u64 LCP PO size
//	@88 u32 Capabilities        @92 u64 EFI RSDP pointer
//	@100 ExtDataElements: LOG_POINTER2_1 {u32 type 8; u32 size 28; u64 phys_addr;
//	     u32 allocated_event_container_size; u32 first_record_offset;
//	     u32 next_record_offset}, then END {u32 type 0; u32 size 8}
const (
	OsSinitDataVersion = 7

	osSinitFixed     = 92 // Version through the RSDP pointer
	heapExtLog21     = 8  // HEAP_EXTDATA_TYPE_EVENT_LOG_POINTER2_1
	heapExtLog21Size = 28
	heapExtEnd       = 0
	heapExtEndSize   = 8
	pmrAlign         = 2 << 20 // VT-d PMRs are 2 MiB granular
)

// OsSinitFlagMaxPerformance selects the maximum-performance PCR extend
// policy (the ACM extends with its strongest bank only); slkit leaves it
// clear, so that the ACM extends every bank (maximum agility).
const OsSinitFlagMaxPerformance = 1 << 0

// LogPointer21 is the LOG_POINTER2_1 extended element: where the TCG TPM
// 2.0 DRTM log lives. The ACM fills the record offsets; the loader leaves
// them 0.
type LogPointer21 struct {
	Addr              uint64
	AllocatedSize     uint32
	FirstRecordOffset uint32
	NextRecordOffset  uint32
}

// logPointer21Size is the element body: u64 phys_addr, u32
// allocated_event_container_size, u32 first_record_offset, u32
// next_record_offset (Linux v16 asm/txt.h struct
// txt_heap_event_log_pointer2_1_element; SKL event_log.c puts the same 20
// bytes in the Spec ID header's vendorInfo).
const logPointer21Size = 20

func (l LogPointer21) bytes() []byte {
	b := make([]byte, logPointer21Size)
	put64(b, 0, l.Addr)
	put32(b, 8, l.AllocatedSize)
	put32(b, 12, l.FirstRecordOffset)
	put32(b, 16, l.NextRecordOffset)
	return b
}

// OsSinitData is the heap table the loader gives the SINIT ACM.
type OsSinitData struct {
	Flags                                            uint32
	MLEPageTable, MLESize, MLEHeaderBase             uint64
	PMRLowBase, PMRLowSize, PMRHighBase, PMRHighSize uint64
	LCPPOBase, LCPPOSize                             uint64
	Capabilities                                     uint32
	RSDP                                             uint64
	Log                                              LogPointer21
}

// MarshalBinary encodes the table as placed on the TXT heap: its u64 size,
// the version 7 fields, LOG_POINTER2_1 and END. PMRs must be 2 MiB aligned
// and the log must be given.
func (o *OsSinitData) MarshalBinary() ([]byte, error) {
	for _, v := range []struct {
		name string
		x    uint64
	}{{"PMR low base", o.PMRLowBase}, {"PMR low size", o.PMRLowSize}, {"PMR high base", o.PMRHighBase}, {"PMR high size", o.PMRHighSize}} {
		if v.x%pmrAlign != 0 {
			return nil, fmt.Errorf("OsSinitData: %s %#x is not 2 MiB aligned", v.name, v.x)
		}
	}
	if o.Log.Addr == 0 || o.Log.AllocatedSize == 0 {
		return nil, fmt.Errorf("OsSinitData: a TPM 2.0 launch needs the DRTM log's address and size (LOG_POINTER2_1)")
	}
	n := 8 + osSinitFixed + heapExtLog21Size + heapExtEndSize
	b := make([]byte, n)
	put64(b, 0, uint64(n))
	put32(b, 8, OsSinitDataVersion)
	put32(b, 12, o.Flags)
	for i, v := range []uint64{o.MLEPageTable, o.MLESize, o.MLEHeaderBase, o.PMRLowBase, o.PMRLowSize,
		o.PMRHighBase, o.PMRHighSize, o.LCPPOBase, o.LCPPOSize} {
		put64(b, 16+8*int64(i), v)
	}
	put32(b, 88, o.Capabilities)
	put64(b, 92, o.RSDP)
	e := int64(8 + osSinitFixed)
	put32(b, e, heapExtLog21)
	put32(b, e+4, heapExtLog21Size)
	copy(b[e+8:], o.Log.bytes())
	put32(b, e+28, heapExtEnd)
	put32(b, e+32, heapExtEndSize)
	return b, nil
}
