package tpm

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/slkit/slkit/internal/errkind"
)

// maxResponse bounds a response size read from the data channel; TPM 2.0
// responses are at most a few KiB (MAX_RESPONSE_SIZE, typically 4096).
const maxResponse = 1 << 16

// ErrBadSwtpmResponse is returned when the data channel sends a malformed response header.
var ErrBadSwtpmResponse = errkind.New(errkind.IO, "malformed TPM response")

// swtpmData is a transport.TPM over swtpm's data channel (a stream socket
// carrying raw TPM commands). One command is in flight at a time.
type swtpmData struct {
	mu   sync.Mutex
	conn net.Conn
}

// dialSwtpmData connects to swtpm's data channel: network is "unix" or "tcp".
func dialSwtpmData(network, addr string) (*swtpmData, error) {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("swtpm data channel %s: %w", addr, err)
	}
	return &swtpmData{conn: c}, nil
}

// Send implements transport.TPM: it writes one command and reads exactly one
// response (10-byte header, then the size the header announces).
func (d *swtpmData) Send(cmd []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.conn.Write(cmd); err != nil {
		return nil, fmt.Errorf("swtpm data channel: write: %w", err)
	}
	hdr := make([]byte, 10)
	if _, err := io.ReadFull(d.conn, hdr); err != nil {
		return nil, fmt.Errorf("swtpm data channel: read: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < 10 || size > maxResponse {
		return nil, fmt.Errorf("%w: size %d", ErrBadSwtpmResponse, size)
	}
	resp := make([]byte, size)
	copy(resp, hdr)
	if _, err := io.ReadFull(d.conn, resp[10:]); err != nil {
		return nil, fmt.Errorf("swtpm data channel: read: %w", err)
	}
	return resp, nil
}

// Close closes the connection.
func (d *swtpmData) Close() error { return d.conn.Close() }
