package slaunch

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// hx decodes hex written with spaces between the fields and "#" comments.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	var clean []string
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		clean = append(clean, strings.Fields(line)...)
	}
	b, err := hex.DecodeString(strings.Join(clean, ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// evt32 is a 32-byte NUL-padded evt_info written as text (the test
// independently pads it).
func evt32(s string) string {
	b := make([]byte, 32)
	copy(b, s)
	return hex.EncodeToString(b)
}

func mustPolicyEntry(t testing.TB, pcr, et, flags uint16, entity, size uint64, desc string) PolicyEntry {
	t.Helper()
	p, err := NewPolicyEntry(pcr, et, flags, entity, size, desc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func amdTestSLRT(t testing.TB) *SLRT {
	return &SLRT{Arch: ArchSKINIT, MaxSize: 0xF000, Entries: []SLREntry{
		DLInfo{DCESize: 0x1000, DCEBase: 0x70000000, DLMESize: 0x2000, DLMEBase: 0x01000000, DLMEEntry: 0x4200,
			DLMEConfigTab: 0x70020000, Bootloader: BootloaderGRUB},
		LogInfo{Format: LogFormatTPM20, Size: 0x10000, Addr: 0x70010000},
		EntryPolicy{Revision: 1, Entries: []PolicyEntry{
			mustPolicyEntry(t, 18, EntitySLRT, PolicyFlagImplicitSize, 0x70001000, 0, "Measured SLR Table"),
			mustPolicyEntry(t, 18, EntityCmdline, 0, 0x70021000, 11, "Measured Kernel command line"),
		}},
		AMDInfo{Type: SetupSecureLaunch, Len: 56, SLRTSize: 0xF000, SLRTBase: 0x70001000, BootParamsBase: 0x70020000},
	}}
}

// The expected bytes are written from Linux Secure Launch v16
// include/linux/slr_table.h and the AMD_INFO of the TrenchBoot AMD series,
// field by field, little-endian.
func amdTestSLRTGolden(t testing.TB) []byte {
	return hx(t, `
		4d545244 0100 0200 40010000 00f00000            # header: magic "MTRD", revision 1, arch 2 (SKINIT), size 320, max_size 0xf000
		01000000 58000000                               # DL_INFO: tag 1, size 88
		0010000000000000                                #   dce_size 0x1000
		0000007000000000                                #   dce_base 0x70000000
		0020000000000000                                #   dlme_size 0x2000
		0000000100000000                                #   dlme_base 0x01000000
		0042000000000000                                #   dlme_entry 0x4200 (offset)
		0000000000000000                                #   dlme_header_offset 0
		0000027000000000                                #   dlme_config_table 0x70020000
		0100 000000000000 0000000000000000              #   bl_context: bootloader 1 (GRUB), reserved[3], context 0
		0000000000000000                                #   dl_launch 0
		02000000 18000000                               # LOG_INFO: tag 2, size 24
		0200 0000 00000100 0000017000000000             #   format 2 (TPM 2.0), reserved, size 0x10000, addr 0x70010000
		03000000 80000000                               # ENTRY_POLICY: tag 3, size 128
		00000000 0100 0200                              #   reserved[2], revision 1, nr_entries 2
		1200 0100 0200 0000 0000000000000000 0010007000000000 `+evt32("Measured SLR Table")+`
		                                                #   pcr 18, SLRT, IMPLICIT_SIZE, size 0, entity 0x70001000
		1200 0400 0000 0000 0b00000000000000 0010027000000000 `+evt32("Measured Kernel command line")+`
		                                                #   pcr 18, CMDLINE, flags 0, size 11, entity 0x70021000
		05000000 38000000                               # AMD_INFO: tag 5, size 56
		0000000000000000 0a000000 38000000              #   setup_data: next 0, type 10, len 56
		00f0000000000000 0010007000000000 0000027000000000 #   slrt_size 0xf000, slrt_base 0x70001000, boot_params_base 0x70020000
		0000 000000000000                               #   psp_version 0, reserved[3]
		ffff0000 08000000                               # END: tag 0xffff, size 8
	`)
}

func TestSLRTGoldenAMD(t *testing.T) {
	got, err := amdTestSLRT(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := amdTestSLRTGolden(t)
	if !bytes.Equal(got, want) {
		t.Fatalf("SLRT bytes differ\n got %x\nwant %x", got, want)
	}
	// What the DLME measures for the SLRT entity: AMD_INFO with next,
	// slrt_base and boot_params_base zeroed.
	m, err := amdTestSLRT(t).MeasuredBytes()
	if err != nil {
		t.Fatal(err)
	}
	wantM := hx(t, `05000000 38000000 0000000000000000 0a000000 38000000 00f0000000000000
		0000000000000000 0000000000000000 0000 000000000000`)
	if !bytes.Equal(m, wantM) {
		t.Fatalf("measured SLRT bytes\n got %x\nwant %x", m, wantM)
	}
	p, err := ParseSLRT(append(want, make([]byte, 64)...)) // trailing unused max_size space
	if err != nil {
		t.Fatal(err)
	}
	again, _ := p.MarshalBinary()
	if !bytes.Equal(again, want) {
		t.Fatalf("parse/marshal round trip differs")
	}
	pol := p.Find(TagEntryPolicy).(EntryPolicy)
	if pol.Entries[1].Description() != "Measured Kernel command line" {
		t.Errorf("description %q", pol.Entries[1].Description())
	}
}

func TestSLRTGoldenIntel(t *testing.T) {
	x := IntelInfo{BootParamsAddr: 0x8a000, TXTHeap: 0x8fe00000, MiscEnableMSR: 0x850089, MTRRDefType: 0xc06, MTRRVCnt: 2}
	x.MTRRs[0] = MTRRPair{Base: 0x6, Mask: 0x7f80000800}
	x.MTRRs[1] = MTRRPair{Base: 0x80000000, Mask: 0x7fc0000800}
	tab := &SLRT{Arch: ArchTXT, Entries: []SLREntry{x}}
	got, err := tab.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := hx(t, `
		4d545244 0100 0100 48020000 48020000            # header: arch 1 (TXT), size 584 = 16+560+8, max_size = size
		04000000 30020000                               # INTEL_INFO: tag 4, size 560
		00a0080000000000 0000e08f00000000               #   boot_params_addr 0x8a000, txt_heap 0x8fe00000
		8900850000000000                                #   saved_misc_enable_msr 0x850089
		060c000000000000 0200000000000000               #   default_mem_type 0xc06, mtrr_vcnt 2
		0600000000000000 000800807f000000               #   mtrr_pair[0] base 0x6, mask 0x7f80000800
		0000008000000000 000800c07f000000               #   mtrr_pair[1] base 0x80000000, mask 0x7fc0000800
	`+strings.Repeat("00", 30*16)+`                     # mtrr_pair[2..31]
		ffff0000 08000000                               # END
	`)
	if !bytes.Equal(got, want) {
		t.Fatalf("SLRT bytes differ\n got %x\nwant %x", got, want)
	}
	m, _ := tab.MeasuredBytes()
	if !bytes.Equal(m[:24], hx(t, `04000000 30020000 0000000000000000 0000000000000000`)) || !bytes.Equal(m[24:], want[40:576]) {
		t.Fatalf("measured INTEL_INFO must zero boot_params_addr and txt_heap only: %x", m[:48])
	}
}

func TestParseSLRTRejects(t *testing.T) {
	good := func() []byte { return amdTestSLRTGolden(t) }
	for _, tc := range []struct {
		name   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"magic", func(b []byte) []byte { b[0] = 0; return b }, "magic 0x44525400"},
		{"revision", func(b []byte) []byte { b[4] = 2; return b }, "revision 2: slkit reads revision 1"},
		{"size past buffer", func(b []byte) []byte { return b[:300] }, "size 320 exceeds the 300 bytes given"},
		{"size over max", func(b []byte) []byte { put32(b, 12, 100); return b }, "size 320 exceeds max_size 100"},
		{"entry overflows", func(b []byte) []byte { put32(b, 20, 0x1000); return b }, "entry tag 0x1: size 4096 does not fit the table"},
		{"entry too small", func(b []byte) []byte { put32(b, 20, 4); return b }, "size 4 does not fit"},
		{"dl_info size", func(b []byte) []byte { put32(b, 20, 80); return b }, "entry tag 1: size 80, want 88"},
		{"reserved", func(b []byte) []byte { b[16+66] = 1; return b }, "bl_context.reserved is not zero"},
		{"policy count", func(b []byte) []byte { put16(b, 16+88+24+14, 3); return b }, "ENTRY_POLICY has 3 entries (184 bytes) but size 128"},
		{"evt_info NUL", func(b []byte) []byte {
			copy(b[16+88+24+16+24:], bytes.Repeat([]byte{'A'}, 32))
			return b
		}, "evt_info of policy entry 0 is not NUL-terminated"},
		{"no END", func(b []byte) []byte { put32(b, 312, 9); return b }, "entry tag (4 bytes) runs past the end of the 320-byte image"},
		{"END not last", func(b []byte) []byte { put32(b, 8, 400); put32(b, 12, 400); return append(b, make([]byte, 80)...) }, "END entry (size 8) does not end the 400-byte table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSLRT(tc.mutate(good()))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrMalformed containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewPolicyEntry(18, EntityCmdline, 0, 0, 0, strings.Repeat("x", 32)); err == nil {
		t.Errorf("a 32-byte description leaves no room for the NUL")
	}
	if _, err := (&SLRT{MaxSize: 16}).MarshalBinary(); err == nil {
		t.Errorf("a table larger than max_size must be refused")
	}
}
