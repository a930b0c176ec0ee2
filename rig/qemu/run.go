package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrRunConfig is a rig run asked for something contradictory.
var ErrRunConfig = errkind.New(errkind.Input, "rig run")

// RunConfig is one whole rig run: a kernel and initrd booted with SeaBIOS
// or OVMF, with swtpm behind the control-channel mux (or straight, or
// none), until the guest reports its result. Its fields are the flags of
// `slkit-rig run`, and its errors name them.
type RunConfig struct {
	// Kernel defaults to the cached Debian kernel (CachedKernel).
	Kernel, Initrd, Append string
	// OVMF boots UEFI firmware; SecureBoot, Vars and ESP need it.
	// SetupMode starts Secure Boot with no keys enrolled (needs
	// SecureBoot); ESP boots this UKI from a FAT ESP image the firmware
	// verifies (no Kernel, Initrd or Append: the UKI carries its own).
	OVMF, SecureBoot, SetupMode bool
	Vars, ESP                   string
	// TPMState keeps swtpm's state in a directory across runs; NoTPM
	// boots without a TPM; NoMux connects QEMU straight to swtpm.
	TPMState     string
	NoTPM, NoMux bool
	Disks        []string
	// AllowReboot lets the guest reboot in place (same VARS, TPM state
	// and disks) instead of ending the run.
	AllowReboot bool
	// CPUs is the guest's number of vCPUs (default 1).
	CPUs int
	// Dir keeps the console log, QEMU's stderr and the sockets ("": a
	// temporary directory, removed).
	Dir string
	// Console receives the console as it comes (nil: not streamed);
	// OnPhase is called as each phase starts.
	Console io.Writer
	OnPhase func(Phase)
	// OnDCE is called with each decision of the rig's DCE service
	// (armings, DCE events, refused requests) as it is made.
	OnDCE func(line string)
}

// RunReport is what a run found (`slkit-rig run --json`).
type RunReport struct {
	Result  Result        `json:"result"`
	Phases  []Phase       `json:"phases"`
	Total   time.Duration `json:"total_ns"`
	Accel   string        `json:"accel"`
	Console string        `json:"console_log,omitempty"`
	// DCE is what the rig's DCE service decided (armings, DCE events,
	// refused requests), in order.
	DCE   []string `json:"dce,omitempty"`
	Error string   `json:"error,omitempty"`
	// Tail is the end of the console when the guest did not succeed.
	Tail []string `json:"console_tail,omitempty"`
}

func (c *RunConfig) check() error {
	switch {
	case !c.OVMF && (c.SecureBoot || c.Vars != ""):
		return fmt.Errorf("%w: --secure-boot and --vars need --ovmf", ErrRunConfig)
	case !c.OVMF && c.ESP != "":
		return fmt.Errorf("%w: --esp needs --ovmf: firmware boots it", ErrRunConfig)
	case c.SetupMode && !c.SecureBoot:
		return fmt.Errorf("%w: --setup-mode needs --secure-boot", ErrRunConfig)
	case c.ESP != "" && (c.Kernel != "" || c.Initrd != "" || c.Append != ""):
		return fmt.Errorf("%w: --esp boots the UKI's own kernel, initrd and command line: no --kernel, --initrd or --append", ErrRunConfig)
	case c.NoTPM && (c.TPMState != "" || c.NoMux):
		return fmt.Errorf("%w: --no-tpm excludes --tpm-state and --no-mux", ErrRunConfig)
	case c.CPUs < 0:
		return fmt.Errorf("%w: --cpus %d", ErrRunConfig, c.CPUs)
	}
	for _, f := range append([]string{c.Kernel, c.Initrd, c.ESP}, c.Disks...) {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrRunConfig, f, errors.Unwrap(err))
		}
	}
	return nil
}

// Run boots the configured VM and waits for the guest's result (or ctx).
// The report is complete whenever the rig started; the error is the
// guest's failure (ErrGuestFailed), a rig failure, or a timeout.
func Run(ctx context.Context, cfg RunConfig) (*RunReport, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Kernel == "" && cfg.ESP == "" {
		k, err := CachedKernel()
		if err != nil {
			return nil, err
		}
		cfg.Kernel = k.Path
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "slkit-rig-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	start := time.Now()
	tr := NewTracker(start, func(p Phase) {
		if cfg.OnPhase != nil {
			cfg.OnPhase(p)
		}
	})
	accel := Accel(cfg.Kernel)
	vmOpts := []VMOption{WithLineHook(tr.Line), WithAccel(accel)}
	if cfg.ESP != "" {
		esp := filepath.Join(dir, "esp.img")
		if err := MakeESP(ctx, cfg.ESP, esp); err != nil {
			return nil, err
		}
		vmOpts = append(vmOpts, WithESP(esp))
	} else {
		vmOpts = append(vmOpts, WithKernel(cfg.Kernel))
	}
	if cfg.Append != "" {
		vmOpts = append(vmOpts, WithAppend(cfg.Append))
	}
	if cfg.Initrd != "" {
		vmOpts = append(vmOpts, WithInitrd(cfg.Initrd))
	}
	if cfg.Console != nil {
		vmOpts = append(vmOpts, WithConsoleWriter(cfg.Console))
	}
	for _, d := range cfg.Disks {
		vmOpts = append(vmOpts, WithDisk(d))
	}
	if cfg.AllowReboot {
		vmOpts = append(vmOpts, WithReboot())
	}
	if cfg.CPUs > 0 {
		vmOpts = append(vmOpts, WithCPUs(cfg.CPUs))
	}
	if cfg.OVMF {
		vmOpts = append(vmOpts, WithOVMF(OVMF{SecureBoot: cfg.SecureBoot, SetupMode: cfg.SetupMode, Vars: cfg.Vars}))
	}
	opts := []RigOption{WithVM(vmOpts...)}
	if cfg.OnDCE != nil {
		opts = append(opts, WithDCELog(cfg.OnDCE))
	}
	switch {
	case cfg.NoTPM:
		opts = append(opts, WithoutTPM())
	case cfg.TPMState != "":
		opts = append(opts, WithTPMState(cfg.TPMState))
	}
	if cfg.NoMux {
		opts = append(opts, WithDirectTPM())
	}
	r, err := StartRig(ctx, dir, opts...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	werr := r.VM.Wait(ctx)
	res := tr.Result()
	werr = res.Err(werr)
	rep := &RunReport{Result: res, Phases: tr.Phases(), Total: time.Since(start), Accel: accel}
	if r.DCE != nil {
		rep.DCE = r.DCE.Log()
	}
	if cfg.Dir != "" {
		rep.Console = filepath.Join(r.VM.Dir, "console.log")
	}
	if werr != nil {
		rep.Error = strings.Join(strings.Fields(werr.Error()), " ")
		lines := r.VM.Console().Lines()
		rep.Tail = lines[max(0, len(lines)-20):]
	}
	return rep, werr
}

// PhaseTable is each phase's start and duration, and the outcome.
func (rep *RunReport) PhaseTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-12s %9s %9s\n", "phase", "start", "duration")
	for i, p := range rep.Phases {
		end := rep.Total
		if i+1 < len(rep.Phases) {
			end = rep.Phases[i+1].Start
		}
		fmt.Fprintf(&b, "%-12s %8.1fs %8.1fs\n", p.Name, p.Start.Seconds(), (end - p.Start).Seconds())
	}
	outcome := "reported success"
	switch {
	case rep.Error != "" && rep.Result.Reported && !rep.Result.OK:
		outcome = "reported failure: " + rep.Result.Reason
	case rep.Error != "":
		outcome = "did not finish: " + rep.Error
	}
	fmt.Fprintf(&b, "[%6.1fs] guest %s (accel %s)\n", rep.Total.Seconds(), outcome, rep.Accel)
	return b.String()
}
