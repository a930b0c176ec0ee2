package slaunch

import (
	"bytes"
	"strings"
	"testing"
)

// TestOsSinitDataGolden: expected bytes written from TXT SDG Appendix C.4
// (version 7) and the LOG_POINTER2_1 element, field by field.
func TestOsSinitDataGolden(t *testing.T) {
	o := &OsSinitData{
		MLEPageTable: 0x7000, MLESize: 0xd81000, MLEHeaderBase: 0x1d7f93c,
		PMRLowBase: 0, PMRLowSize: 0x80000000, PMRHighBase: 0x100000000, PMRHighSize: 0x40000000,
		Capabilities: CapGETSECWake | CapECXPageTab | CapTPM2Log, RSDP: 0xf05b0,
		Log: LogPointer21{Addr: 0x8f000000, AllocatedSize: 0x10000},
	}
	got, err := o.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := hx(t, `
		8800000000000000            # heap table size 136, counting itself
		07000000                    # Version 7
		00000000                    # Flags: max agility PCR extend policy
		0070000000000000            # MLE PageTableBase 0x7000
		0010d80000000000            # MLE Size 0xd81000
		3cf9d70100000000            # MLE HeaderBase 0x1d7f93c
		0000000000000000            # PMR low base 0
		0000008000000000            # PMR low size 2 GiB
		0000000001000000            # PMR high base 4 GiB
		0000004000000000            # PMR high size 1 GiB
		0000000000000000            # LCP PO base
		0000000000000000            # LCP PO size
		05020000                    # Capabilities: GETSEC wake | ECX page table | TPM2 log
		b0050f0000000000            # EFI RSDP pointer 0xf05b0
		08000000 1c000000           # LOG_POINTER2_1: type 8, size 28
		0000008f00000000            #   phys_addr 0x8f000000
		00000100 00000000 00000000  #   allocated 0x10000, first 0, next 0
		00000000 08000000           # END: type 0, size 8
	`)
	if !bytes.Equal(got, want) {
		t.Fatalf("OsSinitData differs\n got %x\nwant %x", got, want)
	}
	for _, tc := range []struct {
		mut  func(o *OsSinitData)
		want string
	}{
		{func(o *OsSinitData) { o.PMRLowSize = 0x80001000 }, "PMR low size 0x80001000 is not 2 MiB aligned"},
		{func(o *OsSinitData) { o.Log = LogPointer21{} }, "needs the DRTM log's address and size"},
	} {
		bad := *o
		tc.mut(&bad)
		if _, err := bad.MarshalBinary(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
