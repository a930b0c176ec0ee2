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

	"github.com/slkit/slkit/internal/errkind"

	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/rig/swtpm"
)

// Results the mux answers in swtpm's place (libtpms tpm_error.h).
const (
	// resFail refuses a request the mux will not forward (state blobs).
	resFail = 0x09 // TPM_FAIL
)

// ErrMuxClosed is returned by host operations after Close.
var ErrMuxClosed = errkind.New(errkind.IO, "mux: closed")

// Mux sits between QEMU and swtpm's control channel (swtpm serves one
// control client at a time, and QEMU is that client). It forwards QEMU's
// control traffic — including the data-channel file descriptor that QEMU
// passes with CMD_SET_DATAFD as SCM_RIGHTS, which it receives with the
// message and sends on to swtpm with the same message — and lets the host,
// while the guest runs, drive the _TPM_Hash sequence of a dynamic launch
// (Hash) and force the locality the guest's commands run at
// (PostLaunchLocality). Every message, QEMU's and the host's, is
// serialised behind one mutex. State-blob commands (migration) are refused.
// When the host may do either is the DCE service's decision (dce.go).
type Mux struct {
	// Path is the unix socket QEMU connects to (-chardev socket,path=Path).
	Path string

	mu       sync.Mutex
	swtpm    *net.UnixConn
	ctl      *swtpm.Ctrl
	ln       *net.UnixListener
	qemuLoc  uint8 // the locality QEMU last asked for
	forceLoc int   // -1: none; else QEMU's SET_LOCALITY is rewritten to it
	seen     []swtpm.Cmd
	serveErr error
	onInit   atomic.Pointer[func()]

	done      chan struct{}
	closeOnce sync.Once
	isClosed  atomic.Bool
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
		if err != nil && !errors.Is(err, io.EOF) && !m.isClosed.Load() {
			m.mu.Lock()
			m.serveErr = err
			m.mu.Unlock()
		}
		c.Close()
	}
}

// Close stops serving and closes both connections. It does not end swtpm.
func (m *Mux) Close() error {
	m.closeOnce.Do(func() {
		m.isClosed.Store(true)
		m.ln.Close()
		m.swtpm.Close()
	})
	return nil
}

// Err returns the last error that ended a QEMU connection or broke a
// locality restore, if any.
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
// the TPM-visible half of a dynamic launch (TCG PC Client Platform TPM
// Profile, _TPM_Hash_Start/Data/End; TPM 2.0 Part 3, 34.2–34.4). PCR17–22
// are reset and PCR17 becomes H(0ⁿ ‖ H(blob)) in every bank. The locality
// QEMU's commands run at is restored afterwards.
func (m *Mux) Hash(blob []byte) error {
	return m.inject(func() error { return m.ctl.Hash(blob) })
}

// Launch is Hash: the DCE measurement that SENTER/SKINIT would stream.
func (m *Mux) Launch(blob []byte) error { return m.Hash(blob) }

// Inject sends one control command of the host's own between QEMU's
// messages (body: the request half of its ptm_* union) and returns swtpm's
// whole response, framed as for QEMU. QEMU's locality is restored
// afterwards. State-blob commands are refused, as they are for QEMU.
func (m *Mux) Inject(cmd swtpm.Cmd, body []byte) ([]byte, error) {
	if cmd == swtpm.CmdGetStateBlob || cmd == swtpm.CmdSetStateBlob || cmd == swtpm.CmdSetDataFD {
		return nil, fmt.Errorf("mux: the host may not send %s", cmd)
	}
	var out []byte
	err := m.inject(func() error {
		_ = m.swtpm.SetDeadline(time.Now().Add(60 * time.Second))
		defer m.swtpm.SetDeadline(time.Time{})
		raw := append(binary.BigEndian.AppendUint32(nil, uint32(cmd)), body...)
		if _, err := m.swtpm.Write(raw); err != nil {
			return fmt.Errorf("mux: %s: %w", cmd, err)
		}
		var err error
		out, err = readResponse(m.swtpm, cmd)
		return err
	})
	return out, err
}

// PostLaunchLocality makes the guest's TPM commands run at loc from now on,
// as a Secure Launch kernel does with tpm_chip_set_locality(2): the mux
// sets it at once and rewrites QEMU's later SET_LOCALITY requests to it,
// until QEMU re-initialises the TPM (CMD_INIT: a platform reset).
func (m *Mux) PostLaunchLocality(loc uint8) error {
	if loc > 4 {
		return fmt.Errorf("mux: locality %d: want 0-4", loc)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed.Load() {
		return ErrMuxClosed
	}
	if err := m.ctl.SetLocality(loc); err != nil {
		return err
	}
	m.forceLoc = int(loc)
	return nil
}

// ReleaseLocality ends PostLaunchLocality: the guest's TPM commands run
// at the locality QEMU last asked for again (a launched OS that leaves
// the launch gives up locality 2, as the MLE's teardown closes it on
// hardware).
func (m *Mux) ReleaseLocality() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed.Load() {
		return ErrMuxClosed
	}
	m.forceLoc = -1
	return m.ctl.SetLocality(m.qemuLoc)
}

// OnInit calls f whenever QEMU sends CMD_INIT, before it is forwarded (a
// platform reset: QEMU sends it when the machine starts or resets, and a
// guest cannot send it).
func (m *Mux) OnInit(f func()) { m.onInit.Store(&f) }

// effectiveLoc is the locality the guest's commands must run at.
func (m *Mux) effectiveLoc() uint8 {
	if m.forceLoc >= 0 {
		return uint8(m.forceLoc)
	}
	return m.qemuLoc
}

// inject runs f with the lock held and then puts swtpm back at the
// locality the guest expects, whatever f did to it.
func (m *Mux) inject(f func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed.Load() {
		return ErrMuxClosed
	}
	err := f()
	if rerr := m.ctl.SetLocality(m.effectiveLoc()); rerr != nil && err == nil {
		err = fmt.Errorf("mux: restore locality %d: %w", m.effectiveLoc(), rerr)
	}
	return err
}

// forward relays one QEMU connection's requests and swtpm's responses.
func (m *Mux) forward(q *net.UnixConn) error {
	in := &fdReader{c: q}
	defer in.closeFDs()
	for {
		req, err := readRequest(in)
		if err != nil {
			return err
		}
		resp, err := m.relay(req)
		if err != nil {
			return err
		}
		if _, err := q.Write(resp); err != nil {
			return err
		}
	}
}

// relay forwards one request to swtpm (or answers it) and returns the
// response for QEMU.
func (m *Mux) relay(req *request) ([]byte, error) {
	if req.fd >= 0 {
		defer unix.Close(req.fd)
	}
	if f := m.onInit.Load(); req.cmd == swtpm.CmdInit && f != nil {
		// Outside the lock: the callback may use the mux (the DCE
		// service holds its own lock while it calls Hash).
		(*f)()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen = append(m.seen, req.cmd)
	raw := req.raw
	switch req.cmd {
	case swtpm.CmdGetStateBlob, swtpm.CmdSetStateBlob:
		return refusal(resFail), nil
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
		m.qemuLoc = req.body()[0]
		if m.forceLoc >= 0 {
			raw = append([]byte(nil), raw...)
			raw[4] = byte(m.forceLoc)
		}
	}
	if m.isClosed.Load() {
		return nil, ErrMuxClosed
	}
	_ = m.swtpm.SetDeadline(time.Now().Add(60 * time.Second))
	defer m.swtpm.SetDeadline(time.Time{})
	if req.cmd == swtpm.CmdSetDataFD {
		if req.fd < 0 {
			return nil, errors.New("mux: SET_DATAFD without a file descriptor")
		}
		if _, _, err := m.swtpm.WriteMsgUnix(raw, unix.UnixRights(req.fd), nil); err != nil {
			return nil, fmt.Errorf("mux: forward SET_DATAFD: %w", err)
		}
	} else if _, err := m.swtpm.Write(raw); err != nil {
		return nil, fmt.Errorf("mux: forward %s: %w", req.cmd, err)
	}
	return readResponse(m.swtpm, req.cmd)
}
