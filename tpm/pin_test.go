package tpm

import (
	"errors"
	"strings"
	"testing"
)

// TestReadPIN: one "\n" and then one "\r" go, nothing else; the limits
// are those of the sealed file's README section ("The PIN").
func TestReadPIN(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      error
	}{
		{"1234\n", "1234", nil},
		{"1234\r\n", "1234", nil},
		{"1234", "1234", nil},
		{"1234\n\n", "1234\n", nil},
		{"1234\n\r", "1234\n", nil},
		{" 12 34 \n", " 12 34 ", nil},
		{"\n", "", ErrEmptyPIN},
		{"\r\n", "", ErrEmptyPIN},
		{"", "", ErrEmptyPIN},
		{strings.Repeat("x", 32) + "\r\n", strings.Repeat("x", 32), nil},
		{strings.Repeat("x", 33) + "\n", "", ErrPINTooLong},
	} {
		got, err := ReadPIN([]byte(c.in))
		if !errors.Is(err, c.err) || string(got) != c.want {
			t.Errorf("ReadPIN(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
	if _, err := CheckPIN([]byte("1234\n")); err != nil {
		t.Errorf("CheckPIN keeps a typed PIN as it is: %v", err)
	}
	if err := ErrPINTooLong.Error(); err != "a PIN of more than 32 bytes" {
		t.Errorf("ErrPINTooLong = %q", err)
	}
}
