package qemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/tpm/swtpm"
)

// ptmResFail is the ptm_res the multiplexer answers for commands it
// refuses (TPM_FAIL, as libtpms uses for "not allowed here").
const ptmResFail = 0x09

// Mux sits between QEMU and swtpm's control channel (swtpm serves one
// control client at a time, and QEMU is that client). It forwards QEMU's
// control traffic — including the data-channel file descriptor that QEMU
// passes with CMD_SET_DATAFD as SCM_RIGHTS — and lets the host, while the
// guest runs, drive the _TPM_Hash sequence of a dynamic launch and force the
// locality the guest's commands run at. Every message is serialised behind
// one mutex. State-blob commands (migration) are refused.
type Mux struct {
	// Path is the unix socket QEMU connects to (-chardev socket,path=Path).
	Path string

	mu        sync.Mutex
	swtpm     *net.UnixConn
	ctl       *swtpm.Ctrl
	ln        *net.UnixListener
	qemuLoc   uint8 // the locality QEMU last asked for
	forceLoc  int   // -1: none; else every SET_LOCALITY is rewritten to it
	seen      []swtpm.Cmd
	done      chan struct{}
	closeOnce sync.Once
	isClosed  atomic.Bool
	serveErr  error
}

// NewMux connects to swtpm's control socket and listens on listenPath.
// Call Serve (in a goroutine) before starting QEMU.
func NewMux(swtpmCtrlPath, listenPath string) (*Mux, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: swtpmCtrlPath, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("mux: swtpm control socket: %w", err)
	}
	_ = os.Remove(listenPath)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: listenPath, Net: "unix"})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("mux: listen: %w", err)
	}
	return &Mux{Path: listenPath, swtpm: c, ctl: swtpm.NewCtrl(c), ln: ln, forceLoc: -1, done: make(chan struct{})}, nil
}

// Serve accepts QEMU's connections one at a time (QEMU reconnects after a
// reset of its chardev) and forwards their traffic until Close.
func (m *Mux) Serve() error {
	defer close(m.done)
	for {
		c, err := m.ln.AcceptUnix()
		if err != nil {
			if m.isClosed.Load() {
				return nil
			}
			return err
		}
		err = m.forward(c)
		c.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			m.mu.Lock()
			m.serveErr = err
			m.mu.Unlock()
		}
	}
}

// Close stops serving and closes both connections.
func (m *Mux) Close() error {
	m.closeOnce.Do(func() {
		m.isClosed.Store(true)
		m.ln.Close()
		m.mu.Lock()
		m.swtpm.Close()
		m.mu.Unlock()
	})
	return nil
}

// Err returns the last error that ended a QEMU connection, if any.
func (m *Mux) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.serveErr
}

// Seen returns the control commands QEMU sent, in order.
func (m *Mux) Seen() []swtpm.Cmd {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]swtpm.Cmd(nil), m.seen...)
}

// Hash runs HASH_START, HASH_DATA (≤ 4 KiB chunks) and HASH_END over blob:
// the TPM-visible half of a dynamic launch. PCR17–22 are reset and PCR17
// becomes H(0ⁿ ‖ H(blob)) in every bank.
func (m *Mux) Hash(blob []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ctl.Hash(blob)
}

// PostLaunchLocality makes the guest's TPM commands run at loc from now on,
// as a Secure Launch kernel does with tpm_chip_set_locality(2): the mux
// sets it at once and rewrites QEMU's later SET_LOCALITY requests, until
// QEMU re-initialises the TPM (a platform reset).
func (m *Mux) PostLaunchLocality(loc uint8) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ctl.SetLocality(loc); err != nil {
		return err
	}
	m.forceLoc = int(loc)
	return nil
}

// forward relays one QEMU connection's requests and swtpm's responses.
func (m *Mux) forward(q *net.UnixConn) error {
	in := &fdReader{c: q}
	defer in.closeFDs()
	for {
		hdr, err := in.readFull(4)
		if err != nil {
			return err
		}
		cmd := swtpm.Cmd(binary.BigEndian.Uint32(hdr))
		body, err := readBody(in, cmd)
		if err != nil {
			return fmt.Errorf("mux: request %s: %w", cmd, err)
		}
		// QEMU sends some requests as the whole C union (SET_LOCALITY is
		// 4 bytes: the locality and padding), and swtpm, like QEMU, treats
		// one message as one request. QEMU waits for each response, so
		// whatever else arrived with this request is its padding.
		body = append(body, in.takeBuffered()...)
		resp, err := m.relay(cmd, hdr, body, in)
		if err != nil {
			return err
		}
		if _, err := q.Write(resp); err != nil {
			return err
		}
	}
}

func readBody(in *fdReader, cmd swtpm.Cmd) ([]byte, error) {
	var body []byte
	for {
		n, err := swtpm.RequestBody(cmd, body)
		if err != nil {
			return nil, err
		}
		if n <= len(body) {
			return body, nil
		}
		more, err := in.readFull(n - len(body))
		if err != nil {
			return nil, err
		}
		body = append(body, more...)
	}
}

func (m *Mux) relay(cmd swtpm.Cmd, hdr, body []byte, in *fdReader) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen = append(m.seen, cmd)
	switch cmd {
	case swtpm.CmdGetStateBlob:
		return refusal(16), nil
	case swtpm.CmdSetStateBlob:
		return refusal(4), nil
	case swtpm.CmdInit:
		// A platform reset ends the launched environment. QEMU still thinks
		// the TPM is at the locality it last set and will not say it again,
		// so swtpm must be put back there (else the firmware's TPM2_Startup
		// would run at the forced locality and fail).
		if m.forceLoc >= 0 {
			m.forceLoc = -1
			defer func() {
				if err := m.ctl.SetLocality(m.qemuLoc); err != nil {
					m.serveErr = fmt.Errorf("mux: restore locality %d after INIT: %w", m.qemuLoc, err)
				}
			}()
		}
	case swtpm.CmdSetLocality:
		m.qemuLoc = body[0]
		if m.forceLoc >= 0 {
			body = []byte{byte(m.forceLoc)}
		}
	}
	req := append(append([]byte(nil), hdr...), body...)
	_ = m.swtpm.SetDeadline(time.Now().Add(60 * time.Second))
	defer m.swtpm.SetDeadline(time.Time{})
	if cmd == swtpm.CmdSetDataFD {
		fd, ok := in.takeFD()
		if !ok {
			return nil, errors.New("mux: SET_DATAFD without a file descriptor")
		}
		_, _, err := m.swtpm.WriteMsgUnix(req, unix.UnixRights(fd), nil)
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("mux: forward SET_DATAFD: %w", err)
		}
	} else if _, err := m.swtpm.Write(req); err != nil {
		return nil, fmt.Errorf("mux: forward %s: %w", cmd, err)
	}
	var resp []byte
	for {
		n, err := swtpm.ResponseSize(cmd, resp)
		if err != nil {
			return nil, err
		}
		if n <= len(resp) {
			return resp[:n], nil
		}
		more := make([]byte, n-len(resp))
		if _, err := io.ReadFull(m.swtpm, more); err != nil {
			return nil, fmt.Errorf("mux: response to %s: %w", cmd, err)
		}
		resp = append(resp, more...)
	}
}

func refusal(size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, ptmResFail)
	return b
}

// fdReader reads a unix stream and keeps the file descriptors that arrive
// with it (SCM_RIGHTS).
type fdReader struct {
	c   *net.UnixConn
	buf []byte
	fds []int
}

func (r *fdReader) readFull(n int) ([]byte, error) {
	for len(r.buf) < n {
		b := make([]byte, 8192)
		oob := make([]byte, unix.CmsgSpace(4*8))
		k, oobn, _, _, err := r.c.ReadMsgUnix(b, oob)
		if oobn > 0 {
			if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
				for _, msg := range msgs {
					if fds, ferr := unix.ParseUnixRights(&msg); ferr == nil {
						r.fds = append(r.fds, fds...)
					}
				}
			}
		}
		r.buf = append(r.buf, b[:k]...)
		if err != nil {
			if k == 0 {
				return nil, err
			}
		} else if k == 0 {
			return nil, io.EOF
		}
	}
	out := r.buf[:n:n]
	r.buf = r.buf[n:]
	return out, nil
}

// takeBuffered returns and forgets the bytes read but not consumed.
func (r *fdReader) takeBuffered() []byte {
	b := r.buf
	r.buf = nil
	return b
}

func (r *fdReader) takeFD() (int, bool) {
	if len(r.fds) == 0 {
		return -1, false
	}
	fd := r.fds[0]
	r.fds = r.fds[1:]
	return fd, true
}

func (r *fdReader) closeFDs() {
	for _, fd := range r.fds {
		unix.Close(fd)
	}
	r.fds = nil
}
