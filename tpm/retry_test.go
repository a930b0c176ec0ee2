package tpm

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"syscall"
	"testing"
)

// etimeSender fails the first fails sends with ETIME as Linux's TPM device
// does (a *fs.PathError from write), then answers TPM_RC_SUCCESS.
type etimeSender struct{ fails, sent int }

func (s *etimeSender) Send([]byte) ([]byte, error) {
	s.sent++
	if s.sent <= s.fails {
		return nil, &fs.PathError{Op: "write", Path: "/dev/tpmrm0", Err: syscall.ETIME}
	}
	return []byte{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0}, nil
}

func command(cc uint32) []byte {
	b := []byte{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[6:], cc)
	return b
}

// TestRetryETIME: a read-only command the kernel timed out is sent again
// (at most three more times); a PCR extend never is.
func TestRetryETIME(t *testing.T) {
	for _, c := range []struct {
		name     string
		cc       uint32
		fails    int
		wantSent int
		wantErr  bool
	}{
		{"GetCapability after one timeout", 0x17A, 1, 2, false},
		{"PCR_Read after three timeouts", 0x17E, 3, 4, false},
		{"PCR_Read after four timeouts", 0x17E, 4, 4, true},
		{"PCR_Extend after one timeout", 0x182, 1, 1, true},
		{"Unseal after one timeout", 0x15E, 1, 1, true},
	} {
		s := &etimeSender{fails: c.fails}
		_, err := retrying{s}.Send(command(c.cc))
		if s.sent != c.wantSent || (err != nil) != c.wantErr || (err != nil && !errors.Is(err, syscall.ETIME)) {
			t.Errorf("%s: sent %d times, err %v; want %d sends, error %v", c.name, s.sent, err, c.wantSent, c.wantErr)
		}
	}
}
