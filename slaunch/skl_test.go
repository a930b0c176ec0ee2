package slaunch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"reflect"
	"strings"
	"testing"
)

func TestParseSKL(t *testing.T) {
	img := slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000)
	s, err := ParseSKL(img)
	if err != nil {
		t.Fatal(err)
	}
	want := SKL{Layout: SKLLayoutWords, Entry: 0x40, MeasuredSize: 0x1800, InfoOffset: 0x10, BootloaderDataOffset: 0x2000, UUID: SKLUUID, Size: 0x2000}
	s.raw = nil
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("parsed %+v\nwant   %+v", *s, want)
	}
	s, _ = ParseSKL(img)
	if m := s.Measured(); !bytes.Equal(m, img[:0x1800]) {
		t.Errorf("Measured() is not the first 0x1800 bytes")
	}
	if out, err := s.MarshalBinary(); err != nil || !bytes.Equal(out, img) {
		t.Errorf("MarshalBinary round trip: %v", err)
	}
}

// TestParseSKLAMDLayout: the AMD SL header keeps skl_info_offset at 66 and
// bootloader_data_offset at 68 (GRUB struct grub_sl_header).
func TestParseSKLAMDLayout(t *testing.T) {
	b := make([]byte, 0x1000)
	le := binary.LittleEndian
	le.PutUint16(b[0:], 0x100)   // entry
	le.PutUint16(b[2:], 0x400)   // measured length
	le.PutUint16(b[66:], 0x80)   // skl_info_offset
	le.PutUint16(b[68:], 0x1000) // bootloader_data_offset
	copy(b[0x80:], SKLUUID[:])
	s, err := ParseSKL(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Layout != SKLLayoutAMD || s.InfoOffset != 0x80 || s.BootloaderDataOffset != 0x1000 || s.Entry != 0x100 {
		t.Fatalf("parsed %+v", s)
	}
	if out, _ := s.MarshalBinary(); !bytes.Equal(out, b) {
		t.Errorf("round trip differs")
	}
}

func TestParseSKLRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		img  []byte
		want string
	}{
		{"too large", slaunchtest.SKL(0xF001, 0x40, 0x100, 0x10, 0xF000), "image is 61441 bytes; it must leave the last 0x1000 bytes"},
		{"measured beyond image", slaunchtest.SKL(0x1000, 0x40, 0x1001, 0x10, 0x2000), "measured length 0x1001 exceeds the 0x1000-byte image"},
		{"entry not measured", slaunchtest.SKL(0x1000, 0x80, 0x80, 0x10, 0x1000), "entry point 0x80 is not inside the measured 0x80 bytes"},
		{"info not measured", slaunchtest.SKL(0x1000, 0x40, 0x100, 0xF8, 0x1000), "skl_info at 0xf8: its UUID is not inside the measured 0x100 bytes"},
		{"no room for SLRT", slaunchtest.SKL(0x1000, 0x40, 0x100, 0x10, 0xF001), "bootloader_data_offset 0xf001 leaves less than 0x1000 bytes"},
		{"SLRT measured", slaunchtest.SKL(0x1000, 0x40, 0x200, 0x10, 0x100), "bootloader_data_offset 0x100 lies inside the measured 0x200 bytes"},
		{"header not measured", slaunchtest.SKL(0x1000, 0x2, 0x6, 0x10, 0x1000), "does not cover the 8-byte SL header"},
		{"short", []byte{1, 2, 3}, "runs past the end"},
		{"uuid", func() []byte { b := slaunchtest.SKL(0x1000, 0x40, 0x100, 0x10, 0x1000); b[0x10] ^= 0xff; return b }(), "is not the SKL UUID"},
		{"version", func() []byte { b := slaunchtest.SKL(0x1000, 0x40, 0x100, 0x10, 0x1000); b[0x20] = 1; return b }(), "skl_info version 1, want 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSKL(tc.img)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrMalformed containing %q", err, tc.want)
			}
		})
	}
}
