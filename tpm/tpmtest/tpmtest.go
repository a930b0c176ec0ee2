// Package tpmtest gives tests a fresh TPM: the in-process Microsoft reference
// simulator by default, or a fresh swtpm per test when SLKIT_TEST_TPM=swtpm
// (CI runs the TPM tests both ways). A test fails if it leaves transient
// objects or sessions loaded.
//
// The simulator allows only locality 0; tests of PCR17–22 need swtpm, whose
// control channel can set the locality (see RequireSwtpm).
package tpmtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/tpm"
)

// EnvBackend selects the backend: "" or "sim" for the simulator, "swtpm"
// for a fresh swtpm process per test.
const EnvBackend = "SLKIT_TEST_TPM"

// TPM is a test TPM.
type TPM struct {
	*tpm.Conn
	// Backend is "sim" or "swtpm".
	Backend string
	// Spec and Options open this same TPM, sharing the test's connection,
	// through tpm.Open (tests that drive the CLI in-process use them; swtpm
	// serves one data connection at a time).
	Spec    string
	Options []tpm.OpenOption
	// SwtpmSpec is the real spec string of a swtpm backend ("" for the
	// simulator), for tests that start a separate process.
	SwtpmSpec string

	sim  *simulator.Simulator
	proc *swtpm.Process

	mu   sync.Mutex
	ctrl *swtpm.Ctrl
}

// Control returns the swtpm's control channel, dialled on first use and
// closed with the TPM; the simulator has none (swtpm.ErrNoControl).
func (t *TPM) Control() (*swtpm.Ctrl, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctrl != nil {
		return t.ctrl, nil
	}
	if t.proc == nil {
		return nil, fmt.Errorf("%s TPM: %w", t.Backend, swtpm.ErrNoControl)
	}
	c, err := t.proc.DialCtrl()
	if err != nil {
		return nil, err
	}
	t.ctrl = c
	return c, nil
}

// Open returns a fresh TPM for t, closed (and checked for leaked handles)
// in t.Cleanup.
func Open(t testing.TB) *TPM {
	t.Helper()
	switch b := os.Getenv(EnvBackend); b {
	case "", "sim":
		return openSim(t)
	case "swtpm":
		return OpenSwtpm(t)
	default:
		t.Fatalf("%s=%q: want sim or swtpm", EnvBackend, b)
		return nil
	}
}

// RequireSwtpm returns a fresh swtpm whatever SLKIT_TEST_TPM says, for
// tests that need localities or the _TPM_Hash sequence. It skips only when
// swtpm is not installed and SLKIT_REQUIRE_RIG is unset (make test sets it).
func RequireSwtpm(t testing.TB) *TPM {
	t.Helper()
	return OpenSwtpm(t)
}

// OpenSwtpm starts a fresh swtpm in a temporary state directory.
func OpenSwtpm(t testing.TB) *TPM {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "swtpm")
	s, err := swtpm.Start(context.Background(), dir, swtpm.WithDataSocket())
	if err != nil {
		SkipOrFatal(t, err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := tpm.Open(s.Spec())
	if err != nil {
		t.Fatalf("open swtpm: %v", err)
	}
	tt := &TPM{Conn: c, Backend: "swtpm", SwtpmSpec: s.Spec(), proc: s}
	tt.share()
	t.Cleanup(func() { tt.checkAndClose(t) })
	return tt
}

// SkipOrFatal skips the test when a rig program is missing, unless
// SLKIT_REQUIRE_RIG=1, in which case the missing program is a failure.
func SkipOrFatal(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
		t.Fatalf("rig required (SLKIT_REQUIRE_RIG=1): %v", err)
	}
	t.Skipf("skipping: %v (run make deps)", err)
}

func openSim(t testing.TB) *TPM {
	t.Helper()
	sim, err := simulator.Get()
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	rw := transport.FromReadWriter(sim)
	conn, err := tpm.Open("sim", tpm.WithBackend("sim", func(string) (transport.TPMCloser, error) {
		return closer{rw, sim.Close}, nil
	}))
	if err != nil {
		t.Fatalf("open simulator: %v", err)
	}
	tt := &TPM{Conn: conn, Backend: "sim", sim: sim}
	tt.share()
	t.Cleanup(func() { tt.checkAndClose(t) })
	return tt
}

// share sets Spec and Options so that tpm.Open hands out this TPM's
// connection without letting the opener close it.
func (t *TPM) share() {
	t.Spec = "test"
	t.Options = []tpm.OpenOption{tpm.WithBackend("test", func(string) (transport.TPMCloser, error) {
		return closer{t.Conn, func() error { return nil }}, nil
	})}
}

type closer struct {
	transport.TPM
	close func() error
}

func (c closer) Close() error { return c.close() }

// Reboot simulates a platform reset: PCRs return to their reset values,
// transient objects and sessions are flushed, persistent state survives.
func (t *TPM) Reboot() error {
	if t.sim != nil {
		return t.sim.Reset()
	}
	ctl, err := t.Control()
	if err != nil {
		return err
	}
	if err := ctl.Init(0); err != nil {
		return err
	}
	_, err = tpm2.Startup{StartupType: tpm2.TPMSUClear}.Execute(t)
	return err
}

// SetLocality sets the locality of subsequent commands (swtpm only).
func (t *TPM) SetLocality(loc uint8) error {
	if t.sim != nil {
		return fmt.Errorf("the simulator supports locality 0 only: %w", swtpm.ErrNoControl)
	}
	ctl, err := t.Control()
	if err != nil {
		return err
	}
	return ctl.SetLocality(loc)
}

func (t *TPM) checkAndClose(tb testing.TB) {
	for _, h := range []tpm2.TPMHandle{0x80000000, 0x02000000, 0x03000000} {
		rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapHandles, Property: uint32(h), PropertyCount: 64}.Execute(t)
		if err != nil {
			tb.Errorf("check for leaked handles: %v", err)
			break
		}
		hs, err := rsp.CapabilityData.Data.Handles()
		if err != nil {
			tb.Errorf("check for leaked handles: %v", err)
			break
		}
		for _, l := range hs.Handle {
			if uint32(l)&0xFF000000 == uint32(h)&0xFF000000 {
				tb.Errorf("test leaked TPM handle %#x", uint32(l))
				tpm2.FlushContext{FlushHandle: l}.Execute(t)
			}
		}
	}
	t.mu.Lock()
	if t.ctrl != nil {
		t.ctrl.Close()
		t.ctrl = nil
	}
	t.mu.Unlock()
	t.Conn.Close()
}
