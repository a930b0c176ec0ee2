package swtpm

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/sockdir"
)

// ErrNotInstalled is returned when a rig program (swtpm, qemu-system-x86_64)
// is not on PATH.
var ErrNotInstalled = errkind.New(errkind.IO, "not installed")

// Process is a running swtpm process with its own state directory.
type Process struct {
	// Dir is the TPM state directory (and the directory of the sockets,
	// unless its path is too long for a unix socket address: see sockdir).
	Dir string
	// CtrlPath is the control channel's unix socket.
	CtrlPath string
	// DataPath is the data channel's unix socket; empty when the data channel
	// is handed over with CMD_SET_DATAFD (the QEMU case).
	DataPath string
	// LogPath is swtpm's log file.
	LogPath string
	// TCPPort is the data channel's TCP port (control: TCPPort+1) when
	// started WithTCPPorts.
	TCPPort int

	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	rmSock func() // removes the short socket directory Start may have made
}

type config struct {
	dataSocket bool
	tcpPort    int
	startup    bool
	logLevel   int
	ekCA       string
}

// Option configures Start.
type Option func(*config)

// WithDataSocket gives swtpm its own data-channel socket (DataPath) and
// starts the TPM at once (--flags not-need-init,startup-clear), for use
// without QEMU. Without it, swtpm waits for QEMU to pass the data channel
// with CMD_SET_DATAFD and to send CMD_INIT and TPM2_Startup itself.
func WithDataSocket() Option {
	return func(c *config) { c.dataSocket, c.startup = true, true }
}

// WithTCPPorts serves the data channel on 127.0.0.1:port and the control
// channel on port+1 (swtpm's convention, which tpm2-tools' swtpm TCTI and
// tpm.Open's swtpm:tcp spec assume), and starts the TPM at once.
func WithTCPPorts(port int) Option {
	return func(c *config) { c.tcpPort, c.startup = port, true }
}

// WithLogLevel sets swtpm's --log level (default 1).
func WithLogLevel(n int) Option { return func(c *config) { c.logLevel = n } }

// Start starts `swtpm socket --tpm2` with state in dir (created if
// missing; an existing state is reused, which is how a rig "reboots" with
// the same TPM). It returns once the control socket accepts connections.
func Start(ctx context.Context, dir string, opts ...Option) (*Process, error) {
	cfg := config{logLevel: 1}
	for _, o := range opts {
		o(&cfg)
	}
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		return nil, fmt.Errorf("swtpm: %w (apt-get install swtpm, or run make deps)", ErrNotInstalled)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("swtpm state dir: %w", err)
	}
	if cfg.ekCA != "" {
		if err := manufacture(ctx, dir, cfg.ekCA); err != nil {
			return nil, err
		}
	}
	sd, rmSock, err := sockdir.For(dir, "data.sock")
	if err != nil {
		return nil, fmt.Errorf("swtpm: %w", err)
	}
	s := &Process{
		Dir:      dir,
		CtrlPath: filepath.Join(sd, "ctrl.sock"),
		LogPath:  filepath.Join(dir, "swtpm.log"),
		done:     make(chan struct{}),
		rmSock:   rmSock,
	}
	_ = os.Remove(s.CtrlPath)
	args := []string{"socket", "--tpm2",
		"--tpmstate", "dir=" + dir,
		"--log", fmt.Sprintf("file=%s,level=%d", s.LogPath, cfg.logLevel),
	}
	if cfg.tcpPort != 0 {
		s.CtrlPath, s.TCPPort = "", cfg.tcpPort
		args = append(args,
			"--server", fmt.Sprintf("type=tcp,bindaddr=127.0.0.1,port=%d", cfg.tcpPort),
			"--ctrl", fmt.Sprintf("type=tcp,bindaddr=127.0.0.1,port=%d", cfg.tcpPort+1))
	} else {
		args = append(args, "--ctrl", "type=unixio,path="+s.CtrlPath)
	}
	if cfg.dataSocket {
		s.DataPath = filepath.Join(sd, "data.sock")
		_ = os.Remove(s.DataPath)
		args = append(args, "--server", "type=unixio,path="+s.DataPath)
	}
	if cfg.startup {
		args = append(args, "--flags", "not-need-init,startup-clear")
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.rmSock()
		return nil, fmt.Errorf("start swtpm: %w", err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// PID is the swtpm process ID.
func (s *Process) PID() int { return s.cmd.Process.Pid }

// Exited is closed when the swtpm process has exited.
func (s *Process) Exited() <-chan struct{} { return s.done }

func (s *Process) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		// Connect, not stat: swtpm binds (creating the file) before it
		// listens.
		ready := listening("unix", s.CtrlPath) && (s.DataPath == "" || listening("unix", s.DataPath))
		if s.TCPPort != 0 {
			ready = listening("tcp", fmt.Sprintf("127.0.0.1:%d", s.TCPPort)) &&
				listening("tcp", fmt.Sprintf("127.0.0.1:%d", s.TCPPort+1))
		}
		if ready {
			return nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(s.LogPath)
			return fmt.Errorf("swtpm exited during start-up: %v: %s", s.err, lastLine(log))
		case <-ctx.Done():
			return fmt.Errorf("swtpm did not create its sockets in %s: %w", s.Dir, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// DialCtrl connects a control-channel client. swtpm serves one control
// client at a time: close it before QEMU (or a multiplexer) needs it.
func (s *Process) DialCtrl() (*Ctrl, error) { return DialCtrl("unix", s.CtrlPath) }

// Spec is the slkit TPM spec string for this instance (see tpm.Open).
func (s *Process) Spec() string {
	if s.TCPPort != 0 {
		return fmt.Sprintf("swtpm:tcp:127.0.0.1:%d", s.TCPPort)
	}
	if s.DataPath == "" {
		return ""
	}
	return "swtpm:unix:" + s.DataPath
}

// Close ends swtpm by its PID: SIGTERM, then SIGKILL after two seconds. It
// is safe to call more than once and after swtpm exited by itself.
func (s *Process) Close() error {
	defer s.rmSock()
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// listening reports whether addr accepts connections (the probe
// connection is closed at once; swtpm then serves the next client).
func listening(network, addr string) bool {
	c, err := net.DialTimeout(network, addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func lastLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
