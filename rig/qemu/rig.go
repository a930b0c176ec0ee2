package qemu

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/slkit/slkit/internal/sockdir"
	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/slaunch/hostchan"
)

type rigConfig struct {
	tpmState string
	noTPM    bool
	direct   bool
	hostChan bool
	handlers map[string]hostchan.Handler
	vmOpts   []VMOption
	dceLog   func(string)
}

// RigOption configures StartRig.
type RigOption func(*rigConfig)

// WithTPMState keeps the swtpm state in dir (reusing it makes a "reboot"
// into the same TPM). Default: DIR/tpm.
func WithTPMState(dir string) RigOption { return func(c *rigConfig) { c.tpmState = dir } }

// WithoutTPM boots without a TPM.
func WithoutTPM() RigOption { return func(c *rigConfig) { c.noTPM = true } }

// WithDirectTPM connects QEMU straight to swtpm, without the Mux (and so
// without DRTM emulation).
func WithDirectTPM() RigOption { return func(c *rigConfig) { c.direct = true } }

// WithHostHandler adds a host-channel handler (and the channel).
func WithHostHandler(verb string, h hostchan.Handler) RigOption {
	return func(c *rigConfig) { c.hostChan = true; c.handlers[verb] = h }
}

// WithHostChannelPort gives the guest a ttyS1 host channel even without
// extra handlers (the TPM verbs are always there with a Mux).
func WithHostChannelPort() RigOption { return func(c *rigConfig) { c.hostChan = true } }

// WithDCELog receives every decision of the rig's DCE service (DCE), one
// line each: when it is armed, each DCE event, locality change and leave,
// and every request it refuses.
func WithDCELog(f func(line string)) RigOption { return func(c *rigConfig) { c.dceLog = f } }

// WithVM passes options to the VM.
func WithVM(opts ...VMOption) RigOption {
	return func(c *rigConfig) { c.vmOpts = append(c.vmOpts, opts...) }
}

// Rig is a VM with its swtpm, the control-channel Mux, the DCE service on
// it and the host channel.
type Rig struct {
	Dir   string
	Swtpm *swtpm.Process
	Mux   *Mux
	// DCE decides when the guest may have a DCE event (nil without a Mux).
	DCE  *DCE
	Host *hostchan.Server
	VM   *VM

	hostLn  net.Listener
	sockDir string // where the Mux and host-channel sockets are
	rmSock  func()
	wg      sync.WaitGroup
	closeMu sync.Once
}

// StartRig starts swtpm, the Mux, the host channel and QEMU, in dir.
// Close ends them all, by PID.
func StartRig(ctx context.Context, dir string, opts ...RigOption) (*Rig, error) {
	cfg := rigConfig{handlers: map[string]hostchan.Handler{}}
	for _, o := range opts {
		o(&cfg)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sd, rmSock, err := sockdir.For(dir, "hostchan.sock")
	if err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	r := &Rig{Dir: dir, sockDir: sd, rmSock: rmSock}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	vmOpts := append([]VMOption(nil), cfg.vmOpts...)
	if !cfg.noTPM {
		state := cfg.tpmState
		if state == "" {
			state = filepath.Join(dir, "tpm")
		}
		s, err := swtpm.Start(ctx, state)
		if err != nil {
			return nil, err
		}
		r.Swtpm = s
		ctrl := s.CtrlPath
		if !cfg.direct {
			m, err := NewMux(s.CtrlPath, filepath.Join(r.sockDir, "mux.sock"))
			if err != nil {
				return nil, err
			}
			r.Mux = m
			r.DCE = NewDCE(m, cfg.dceLog)
			r.wg.Add(1)
			go func() { defer r.wg.Done(); m.Serve() }()
			ctrl = m.Path
			cfg.hostChan = true
		}
		vmOpts = append(vmOpts, WithTPM(ctrl))
	}
	if cfg.hostChan {
		if err := r.startHostChannel(&cfg); err != nil {
			return nil, err
		}
		vmOpts = append(vmOpts, WithHostChannel(r.hostLn.Addr().String()))
	}
	vm, err := StartVM(ctx, dir, vmOpts...)
	if err != nil {
		return nil, err
	}
	r.VM = vm
	ok = true
	return r, nil
}

func (r *Rig) startHostChannel(cfg *rigConfig) error {
	p := filepath.Join(r.sockDir, "hostchan.sock")
	_ = os.Remove(p)
	ln, err := net.Listen("unix", p)
	if err != nil {
		return fmt.Errorf("host channel: %w", err)
	}
	r.hostLn = ln
	r.Host = hostchan.NewServer()
	if r.DCE != nil {
		r.DCE.Register(r.Host)
	}
	for v, h := range cfg.handlers {
		r.Host.Handle(v, h)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.Host.Serve(c)
			c.Close()
		}
	}()
	return nil
}

// Close ends QEMU, the Mux and swtpm (by PID) and waits for the rig's
// goroutines. It is safe to call more than once.
func (r *Rig) Close() error {
	r.closeMu.Do(func() {
		if r.VM != nil {
			r.VM.Close()
		}
		if r.hostLn != nil {
			r.hostLn.Close()
		}
		if r.Mux != nil {
			r.Mux.Close()
		}
		if r.Swtpm != nil {
			r.Swtpm.Close()
		}
		r.wg.Wait()
		r.rmSock()
	})
	return nil
}
