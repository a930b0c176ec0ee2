package swtpm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/slkit/slkit/internal/errkind"
)

// Cmd is a control-channel command code (tpm_ioctl.h, "Commands used by the
// non-CUSE TPMs").
type Cmd uint32

// Control-channel command codes.
const (
	CmdGetCapability       Cmd = 0x01
	CmdInit                Cmd = 0x02
	CmdShutdown            Cmd = 0x03
	CmdGetTPMEstablished   Cmd = 0x04
	CmdSetLocality         Cmd = 0x05
	CmdHashStart           Cmd = 0x06
	CmdHashData            Cmd = 0x07
	CmdHashEnd             Cmd = 0x08
	CmdCancelTPMCmd        Cmd = 0x09
	CmdStoreVolatile       Cmd = 0x0A
	CmdResetTPMEstablished Cmd = 0x0B
	CmdGetStateBlob        Cmd = 0x0C
	CmdSetStateBlob        Cmd = 0x0D
	CmdStop                Cmd = 0x0E
	CmdGetConfig           Cmd = 0x0F
	CmdSetDataFD           Cmd = 0x10
	CmdSetBufferSize       Cmd = 0x11
	CmdGetInfo             Cmd = 0x12
)

var cmdNames = map[Cmd]string{
	CmdGetCapability: "GET_CAPABILITY", CmdInit: "INIT", CmdShutdown: "SHUTDOWN",
	CmdGetTPMEstablished: "GET_TPMESTABLISHED", CmdSetLocality: "SET_LOCALITY",
	CmdHashStart: "HASH_START", CmdHashData: "HASH_DATA", CmdHashEnd: "HASH_END",
	CmdCancelTPMCmd: "CANCEL_TPM_CMD", CmdStoreVolatile: "STORE_VOLATILE",
	CmdResetTPMEstablished: "RESET_TPMESTABLISHED", CmdGetStateBlob: "GET_STATEBLOB",
	CmdSetStateBlob: "SET_STATEBLOB", CmdStop: "STOP", CmdGetConfig: "GET_CONFIG",
	CmdSetDataFD: "SET_DATAFD", CmdSetBufferSize: "SET_BUFFERSIZE", CmdGetInfo: "GET_INFO",
}

func (c Cmd) String() string {
	if n, ok := cmdNames[c]; ok {
		return n
	}
	return fmt.Sprintf("CMD_%#x", uint32(c))
}

// MaxHashChunk is the largest HASH_DATA payload swtpm accepts in one request
// (ptm_hdata.u.req.data).
const MaxHashChunk = 4096

// InitDeleteVolatile is PTM_INIT_FLAG_DELETE_VOLATILE.
const InitDeleteVolatile uint32 = 1

// Errors returned by the control-channel client.
var (
	// ErrControl wraps a non-zero ptm_res result from swtpm.
	ErrControl = errkind.New(errkind.IO, "swtpm control command failed")
	// ErrNoControl means the TPM has no known control channel.
	ErrNoControl = errkind.New(errkind.IO, "no swtpm control channel")
)

// ResultError is a non-zero ptm_res returned for a control command. It wraps
// ErrControl.
type ResultError struct {
	Cmd    Cmd
	Result uint32
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("swtpm %s: result %#x", e.Cmd, e.Result)
}

// Unwrap makes errors.Is(err, ErrControl) true.
func (e *ResultError) Unwrap() error { return ErrControl }

// Ctrl is a client of swtpm's control channel. Its methods are safe for
// concurrent use; each sends one request and reads its whole response.
type Ctrl struct {
	mu      sync.Mutex
	conn    net.Conn
	timeout time.Duration
}

// DialCtrl connects to a control channel: network is "unix" or "tcp".
func DialCtrl(network, addr string) (*Ctrl, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout(network, addr, time.Until(deadline))
		if err == nil {
			return NewCtrl(c), nil
		}
		// swtpm accepts one control client at a time and listens with a
		// short backlog: while it still serves the readiness probe, a unix
		// connect fails with EAGAIN. Try again until the deadline.
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return nil, fmt.Errorf("swtpm control channel %s: %w", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// NewCtrl wraps an established control-channel connection.
func NewCtrl(conn net.Conn) *Ctrl { return &Ctrl{conn: conn, timeout: 30 * time.Second} }

// Close closes the connection.
func (c *Ctrl) Close() error { return c.conn.Close() }

// Do sends cmd with body and reads a response of respLen bytes. It does not
// interpret the response.
func (c *Ctrl) Do(cmd Cmd, body []byte, respLen int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timeout > 0 {
		_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
		defer c.conn.SetDeadline(time.Time{})
	}
	req := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(req, uint32(cmd))
	copy(req[4:], body)
	if _, err := c.conn.Write(req); err != nil {
		return nil, fmt.Errorf("swtpm %s: write: %w", cmd, err)
	}
	resp := make([]byte, respLen)
	if _, err := io.ReadFull(c.conn, resp); err != nil {
		return nil, fmt.Errorf("swtpm %s: read response: %w", cmd, err)
	}
	return resp, nil
}

// call runs a command whose response starts with a ptm_res and checks it.
func (c *Ctrl) call(cmd Cmd, body []byte, respLen int) ([]byte, error) {
	resp, err := c.Do(cmd, body, respLen)
	if err != nil {
		return nil, err
	}
	if r := binary.BigEndian.Uint32(resp); r != 0 {
		return nil, &ResultError{Cmd: cmd, Result: r}
	}
	return resp, nil
}

// Capabilities returns the PTM_CAP_* bit mask (CMD_GET_CAPABILITY).
func (c *Ctrl) Capabilities() (uint64, error) {
	resp, err := c.Do(CmdGetCapability, nil, 8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(resp), nil
}

// Init (re)initialises the TPM, as a platform reset does (CMD_INIT). The TPM
// then needs TPM2_Startup.
func (c *Ctrl) Init(flags uint32) error {
	b := binary.BigEndian.AppendUint32(nil, flags)
	_, err := c.call(CmdInit, b, 4)
	return err
}

// Shutdown stops the TPM; swtpm exits unless run with --flags not-need-init.
func (c *Ctrl) Shutdown() error {
	_, err := c.call(CmdShutdown, nil, 4)
	return err
}

// Stop stops the TPM without exiting swtpm (CMD_STOP).
func (c *Ctrl) Stop() error {
	_, err := c.call(CmdStop, nil, 4)
	return err
}

// SetLocality sets the locality used for subsequent data-channel commands.
func (c *Ctrl) SetLocality(loc uint8) error {
	_, err := c.call(CmdSetLocality, []byte{loc}, 4)
	return err
}

// Established reports the TPM's access.tpmEstablishment bit.
func (c *Ctrl) Established() (bool, error) {
	resp, err := c.call(CmdGetTPMEstablished, nil, 8)
	if err != nil {
		return false, err
	}
	return resp[4] != 0, nil
}

// ResetEstablished clears the tpmEstablishment bit; swtpm allows it only at
// locality 3 or 4.
func (c *Ctrl) ResetEstablished(loc uint8) error {
	_, err := c.call(CmdResetTPMEstablished, []byte{loc}, 4)
	return err
}

// HashStart starts a _TPM_Hash sequence (CMD_HASH_START).
func (c *Ctrl) HashStart() error {
	_, err := c.call(CmdHashStart, nil, 4)
	return err
}

// HashData sends data to the running _TPM_Hash sequence in chunks of at most
// MaxHashChunk bytes.
func (c *Ctrl) HashData(data []byte) error {
	for len(data) > 0 {
		n := min(len(data), MaxHashChunk)
		body := binary.BigEndian.AppendUint32(make([]byte, 0, 4+n), uint32(n))
		body = append(body, data[:n]...)
		if _, err := c.call(CmdHashData, body, 4); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// HashEnd ends the _TPM_Hash sequence: PCR17–22 are reset to zero and PCR17
// becomes H(0ⁿ ‖ H(data)) in every bank.
func (c *Ctrl) HashEnd() error {
	_, err := c.call(CmdHashEnd, nil, 4)
	return err
}

// Hash runs the whole _TPM_Hash_Start / _Data / _End sequence over data, the
// TPM-visible half of a dynamic launch (TCG PC Client PTP, "DRTM"
// interface; AMD APM vol. 2 §15.27.3 for SKINIT's use of it).
func (c *Ctrl) Hash(data []byte) error {
	if err := c.HashStart(); err != nil {
		return err
	}
	if err := c.HashData(data); err != nil {
		return err
	}
	return c.HashEnd()
}
