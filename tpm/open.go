package tpm

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"

	"github.com/slkit/slkit/tpm/swtpm"
)

// TPMSender is go-tpm's transport seam: one method that sends a command and
// returns the response.
type TPMSender = transport.TPM

// ErrOpen wraps every failure to open a TPM.
var ErrOpen = errors.New("cannot open TPM")

// ErrSpec is returned for a malformed TPM spec string.
var ErrSpec = errors.New("bad TPM spec")

// DefaultSpec is the spec used when none is given.
const DefaultSpec = "device:/dev/tpmrm0"

// Conn is an open TPM. It is a transport.TPMCloser; for swtpm it also knows
// the control channel, which tests and the rig use to set the locality or
// run a _TPM_Hash sequence.
type Conn struct {
	// Spec is the spec string the TPM was opened with.
	Spec string

	tpm      transport.TPMCloser
	ctrlNet  string
	ctrlAddr string

	mu   sync.Mutex
	ctrl *swtpm.Ctrl
}

// Send implements transport.TPM. Commands the TPM asks to resubmit
// (TPM_RC_RETRY, YIELDED, TESTING) are resubmitted.
func (c *Conn) Send(cmd []byte) ([]byte, error) { return retrying{c.tpm}.Send(cmd) }

// Close closes the TPM and its control channel.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.ctrl != nil {
		c.ctrl.Close()
		c.ctrl = nil
	}
	c.mu.Unlock()
	return c.tpm.Close()
}

// Control returns the swtpm control channel, dialling it on first use.
// It returns ErrNoControl (from package swtpm) for other TPMs.
func (c *Conn) Control() (*swtpm.Ctrl, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctrl != nil {
		return c.ctrl, nil
	}
	if c.ctrlAddr == "" {
		return nil, fmt.Errorf("%s: %w", c.Spec, swtpm.ErrNoControl)
	}
	ctl, err := swtpm.DialCtrl(c.ctrlNet, c.ctrlAddr)
	if err != nil {
		return nil, err
	}
	c.ctrl = ctl
	return ctl, nil
}

// Backend opens the part of a spec string after "NAME:".
type Backend func(rest string) (transport.TPMCloser, error)

type openConfig struct{ backends map[string]Backend }

// OpenOption configures Open.
type OpenOption func(*openConfig)

// WithBackend makes Open accept specs "NAME" and "NAME:REST" and open them
// with b. Tests use it for the in-process simulator ("sim"), which needs
// cgo and is therefore not linked into the static slkit binary.
func WithBackend(name string, b Backend) OpenOption {
	return func(c *openConfig) { c.backends[name] = b }
}

// Open opens a TPM from a spec string:
//
//	device[:PATH]              a kernel TPM device (default /dev/tpmrm0, falling back to /dev/tpm0)
//	swtpm:tcp:HOST:PORT        swtpm's data channel over TCP; control channel at PORT+1
//	swtpm:unix:PATH[,ctrl=P2]  swtpm's data channel on a unix socket, control channel P2 if known
//
// plus any backend registered with WithBackend. An empty spec means DefaultSpec.
func Open(spec string, opts ...OpenOption) (*Conn, error) {
	cfg := openConfig{backends: map[string]Backend{}}
	for _, o := range opts {
		o(&cfg)
	}
	if spec == "" {
		spec = DefaultSpec
	}
	scheme, rest, _ := strings.Cut(spec, ":")
	c := &Conn{Spec: spec}
	var err error
	switch scheme {
	case "device":
		c.tpm, err = openDevice(rest)
	case "swtpm":
		err = c.openSwtpm(rest)
	default:
		b, ok := cfg.backends[scheme]
		if !ok {
			return nil, fmt.Errorf("%w %q: want device[:PATH], swtpm:tcp:HOST:PORT or swtpm:unix:PATH[,ctrl=PATH]", ErrSpec, spec)
		}
		c.tpm, err = b(rest)
	}
	if err != nil {
		if errors.Is(err, ErrSpec) {
			return nil, err
		}
		return nil, fmt.Errorf("%w %s: %w", ErrOpen, spec, err)
	}
	return c, nil
}

func openDevice(path string) (transport.TPMCloser, error) {
	if path != "" {
		return linuxtpm.Open(path)
	}
	t, err := linuxtpm.Open("/dev/tpmrm0")
	if err == nil {
		return t, nil
	}
	if _, serr := os.Stat("/dev/tpmrm0"); serr == nil {
		return nil, err
	}
	return linuxtpm.Open("/dev/tpm0")
}

func (c *Conn) openSwtpm(rest string) error {
	kind, addr, _ := strings.Cut(rest, ":")
	switch kind {
	case "tcp":
		host, port, err := net.SplitHostPort(addr)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil || p <= 0 || p >= 65535 {
			return fmt.Errorf("%w %q: want swtpm:tcp:HOST:PORT", ErrSpec, c.Spec)
		}
		d, err := swtpm.DialData("tcp", addr)
		if err != nil {
			return err
		}
		c.tpm = d
		c.ctrlNet, c.ctrlAddr = "tcp", net.JoinHostPort(host, strconv.Itoa(p+1))
	case "unix":
		path, opt, _ := strings.Cut(addr, ",")
		if path == "" {
			return fmt.Errorf("%w %q: want swtpm:unix:PATH[,ctrl=PATH]", ErrSpec, c.Spec)
		}
		if opt != "" {
			ctrl, ok := strings.CutPrefix(opt, "ctrl=")
			if !ok || ctrl == "" {
				return fmt.Errorf("%w %q: unknown option %q (want ctrl=PATH)", ErrSpec, c.Spec, opt)
			}
			c.ctrlNet, c.ctrlAddr = "unix", ctrl
		}
		d, err := swtpm.DialData("unix", path)
		if err != nil {
			return err
		}
		c.tpm = d
	default:
		return fmt.Errorf("%w %q: want swtpm:tcp:HOST:PORT or swtpm:unix:PATH", ErrSpec, c.Spec)
	}
	return nil
}
