package slaunch

import (
	"bytes"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// TestDRTMLogGolden: the expected bytes follow the TCG PC Client PFP
// §10.2.2 (crypto-agile log: TCG_PCClientPCREvent header carrying
// TCG_EfiSpecIDEvent, then TCG_PCR_EVENT2) with the vendorInfo
// secure-kernel-loader event_log.c puts there (LOG_POINTER2_1 shape).
func TestDRTMLogGolden(t *testing.T) {
	l, err := NewDRTMLog([]tpm.Alg{tpm.SHA1, tpm.SHA256}, 0x70010000, 0x10000)
	if err != nil {
		t.Fatal(err)
	}
	err = l.AppendEvent(Event{PCR: 17, Type: EventType, Description: "SKINIT", Digests: tpm.Digests{
		tpm.SHA1: bytes.Repeat([]byte{0x11}, 20), tpm.SHA256: bytes.Repeat([]byte{0x22}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := hx(t, `
		00000000 03000000                              # header record: PCR 0, EV_NO_ACTION
		0000000000000000000000000000000000000000       #   SHA-1 digest field: zero
		39000000                                       #   event size 57
		53706563204944204576656e74303300               #   "Spec ID Event03\0"
		00000000 00 02 00 02                           #   platform class 0, spec 2.0 errata 0, uintn size 2
		02000000 0400 1400 0b00 2000                   #   2 algorithms: SHA-1 (20), SHA-256 (32)
		14                                             #   vendorInfoSize 20
		0000017000000000 00000100 00000000 a7000000    #   LOG_POINTER2_1: addr, allocated 0x10000, first 0, next 167
		11000000 02050000                              # event: PCR 17, EV_SLAUNCH 0x502
		02000000                                       #   2 digests
		0400 `+strings.Repeat("11", 20)+`              #   SHA-1
		0b00 `+strings.Repeat("22", 32)+`              #   SHA-256
		06000000 534b494e4954                          #   event size 6, "SKINIT"
	`)
	if !bytes.Equal(got, want) {
		t.Fatalf("DRTM log differs\n got %x\nwant %x", got, want)
	}
	// The generic parser reads it back, vendorInfo included.
	p, err := tpm.ParseEventLog(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 1 || p.Events[0].Description() != "SKINIT" || !bytes.Equal(p.SpecID.VendorInfo, want[69:89]) {
		t.Fatalf("parsed back: %+v", p)
	}
	small, _ := NewDRTMLog([]tpm.Alg{tpm.SHA256}, 0, 64)
	if _, err := small.MarshalBinary(); err == nil || !strings.Contains(err.Error(), "exceed the 64 bytes reserved") {
		t.Errorf("a log larger than its reservation: %v", err)
	}
	if err := small.AppendEvent(Event{PCR: 17, Type: EventType, Digests: tpm.Digests{tpm.SHA1: make([]byte, 20)}}); err == nil {
		t.Errorf("an event without the log's bank must be refused")
	}
}
