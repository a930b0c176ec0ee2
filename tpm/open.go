package tpm

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// TPMSender is go-tpm's transport seam: one method that sends a command and
// returns the response.
type TPMSender = transport.TPM

// ErrOpen wraps every failure to open a TPM.
var ErrOpen = errkind.New(errkind.IO, "cannot open TPM")

// ErrSpec is returned for a malformed TPM spec string.
var ErrSpec = errkind.New(errkind.Input, "bad TPM spec")

// DefaultSpec is the spec used when none is given.
const DefaultSpec = "device:/dev/tpmrm0"

// Conn is an open TPM: a transport.TPMCloser that resubmits commands the
// TPM asks to retry.
type Conn struct {
	// Spec is the spec string the TPM was opened with.
	Spec string

	tpm transport.TPMCloser
}

// Send implements transport.TPM. Commands the TPM asks to resubmit
// (TPM_RC_RETRY, YIELDED, TESTING) are resubmitted.
func (c *Conn) Send(cmd []byte) ([]byte, error) { return retrying{c.tpm}.Send(cmd) }

// Close closes the TPM.
func (c *Conn) Close() error { return c.tpm.Close() }

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
//	swtpm:tcp:HOST:PORT        swtpm's data channel over TCP
//	swtpm:unix:PATH            swtpm's data channel on a unix socket
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
			return nil, fmt.Errorf("%w %q: want device[:PATH], swtpm:tcp:HOST:PORT or swtpm:unix:PATH", ErrSpec, spec)
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

// openSwtpm opens swtpm's data channel (swtpm's control channel is the
// rig's business, not a user's: see package rig/swtpm).
func (c *Conn) openSwtpm(rest string) error {
	kind, addr, _ := strings.Cut(rest, ":")
	var network string
	switch kind {
	case "tcp":
		_, port, err := net.SplitHostPort(addr)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil || p <= 0 || p > 65535 {
			return fmt.Errorf("%w %q: want swtpm:tcp:HOST:PORT", ErrSpec, c.Spec)
		}
		network = "tcp"
	case "unix":
		if addr == "" || strings.Contains(addr, ",") {
			return fmt.Errorf("%w %q: want swtpm:unix:PATH", ErrSpec, c.Spec)
		}
		network = "unix"
	default:
		return fmt.Errorf("%w %q: want swtpm:tcp:HOST:PORT or swtpm:unix:PATH", ErrSpec, c.Spec)
	}
	d, err := dialSwtpmData(network, addr)
	if err != nil {
		return err
	}
	c.tpm = d
	return nil
}
