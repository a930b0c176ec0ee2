package efi

import (
	"bytes"
	"errors"
	"testing"
)

// TestParseValueText: each format against the bytes UEFI 2.10 §3.3 lays
// out (little-endian UINT16s), and its refusals.
func TestParseValueText(t *testing.T) {
	for _, c := range []struct {
		format, text string
		want         []byte
	}{
		{ValueHex, "00ff10", []byte{0x00, 0xff, 0x10}},
		{ValueHex, "", []byte{}},
		{ValueU16, "1", []byte{0x01, 0x00}},
		{ValueU16, "0x1234", []byte{0x34, 0x12}},
		{ValueU16, "65535", []byte{0xff, 0xff}},
		{ValueBootOrder, "0001,0010, 0003", []byte{0x01, 0x00, 0x10, 0x00, 0x03, 0x00}},
	} {
		got, err := ParseValueText(c.format, c.text)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s %q: % x %v, want % x", c.format, c.text, got, err, c.want)
		}
	}
	for _, c := range [][2]string{{ValueHex, "0g"}, {ValueHex, "abc"}, {ValueU16, "65536"}, {ValueU16, "-1"},
		{ValueBootOrder, "0001,"}, {ValueBootOrder, "10000"}, {"u32", "1"}} {
		if _, err := ParseValueText(c[0], c[1]); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s %q: %v, want ErrMalformed", c[0], c[1], err)
		}
	}
}
