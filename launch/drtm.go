package launch

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// PhaseDRTM is the phase of Launch that stages the dynamic launch (after
// measure, before kexec).
const PhaseDRTM = "drtm"

// DRTMTargetLogPath is where the launched kernel finds the DRTM event log
// of a dynamic launch (the DCE's and the DLME's events, PCR17 and PCR18):
// next to TargetLogPath, in the same hand-over archive. Verify it with
// `slkit drtm verify`.
const DRTMTargetLogPath = "/slkit/drtm-eventlog.bin"

// DRTMInput is what a StageDRTM hook gets: the verified entry after its
// images were measured and matched the policy.
type DRTMInput struct {
	// TPM is the launch's TPM.
	TPM transport.TPM
	// Policy is the verified policy entry.
	Policy *policy.Entry
	// Entry holds the staged images (the sealed copies that were measured
	// and that kexec loads) and the command line.
	Entry *Entry
	// Digests are the kernel's and the initrd's digests as Measure
	// computed them (the TPM's active banks, the log's banks and SHA-256),
	// so that a backend need not read and hash the images again.
	Digests map[Component]tpm.Digests
	// Banks are the TPM's active banks.
	Banks []tpm.Alg
}

// StageDRTM stages and performs a dynamic launch for a measured entry and
// returns the files to hand to the target with the event log (the DRTM
// log at DRTMTargetLogPath). An error means that DRTM did not happen:
// Launch then boots nothing, except for an entry without require_drtm
// when the error says that the dynamic launch never started
// (slaunch.NeverStarted).
type StageDRTM func(*DRTMInput) ([]HandoverFile, error)

// WithDRTM sets the DRTM backend (Hooks.StageDRTM) without touching the
// other hooks; give it after WithHooks, which replaces all of them.
func WithDRTM(stage StageDRTM) LaunchOption {
	return func(c *launchConfig) { c.hooks.StageDRTM = stage }
}

// checkDRTMBackend fails closed, before any TPM command, when the entry
// requires DRTM and no backend is configured.
func (c *launchConfig) checkDRTMBackend(pe *policy.Entry) error {
	if pe.RequireDRTM && c.hooks.StageDRTM == nil {
		return fmt.Errorf("%w: entry %q requires DRTM and no DRTM backend was given (slkit launch --drtm)", ErrDRTMUnavailable, pe.Name)
	}
	return nil
}

// stageDRTM runs the DRTM hook, when there is one, on the measured entry.
// When the dynamic launch did not happen, an entry with require_drtm is
// refused (ErrDRTMUnavailable: nothing is booted). An entry without it
// falls back to the measured launch it already is only when the dynamic
// launch never started (slaunch.NeverStarted: it failed before the DCE
// event, PCR 17–22 untouched), never silently: the warning says why,
// Result.DRTMFallback keeps the reason, and no DRTM log is handed over, so
// the target's `slkit drtm verify` fails and no secret sealed to PCR17/18
// unseals. Any other failure — after the DCE event, or one that does not
// say when it happened — is fatal: nothing is booted.
func (c *launchConfig) stageDRTM(t transport.TPM, pe *policy.Entry, e *Entry, m *Measurement, ds map[Component]tpm.Digests, res *Result) ([]HandoverFile, error) {
	if c.hooks.StageDRTM == nil {
		return nil, nil
	}
	c.phase(PhaseDRTM)
	files, err := c.hooks.StageDRTM(&DRTMInput{TPM: t, Policy: pe, Entry: e, Digests: ds, Banks: m.Banks})
	switch {
	case err != nil && pe.RequireDRTM:
		return nil, fmt.Errorf("%w: entry %q: %w", ErrDRTMUnavailable, pe.Name, err)
	case err != nil && !slaunch.NeverStarted(err):
		return nil, fmt.Errorf("entry %q: %w; nothing is booted", pe.Name, err)
	case err != nil:
		res.DRTMFallback = fmt.Errorf("entry %q: %w", pe.Name, err)
		c.warn(fmt.Sprintf("%v; the entry does not require DRTM: launching it as a measured launch (PCR 8/9 only, no DRTM log handed over)", res.DRTMFallback))
		return nil, nil
	}
	if err := c.keepDRTMLog(files); err != nil {
		return nil, err
	}
	return files, nil
}

// DRTMLogName is the DRTM log's file name in the pre-launch environment:
// Launch writes it next to the pre-launch event log (DefaultLogPath's
// directory, or WithLaunchLog's).
const DRTMLogName = "drtm-eventlog.bin"

// keepDRTMLog writes the DRTM log among files next to the pre-launch log
// (atomically), so that the pre-launch environment, and a dry run, keep it.
func (c *launchConfig) keepDRTMLog(files []HandoverFile) error {
	if c.logPath == "" {
		return nil
	}
	for _, f := range files {
		if f.Path != DRTMTargetLogPath {
			continue
		}
		p := filepath.Join(filepath.Dir(c.logPath), DRTMLogName)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("%w: %w", ErrLog, err)
		}
		if err := fsys.WriteFile(fsys.OS{}, p, f.Data, 0o644); err != nil {
			return fmt.Errorf("%w: %w", ErrLog, err)
		}
	}
	return nil
}

// recordDigests wraps a Measure check so that it also keeps each image's
// digests for the DRTM hook.
func recordDigests(check func(Component, tpm.Digests) error, into map[Component]tpm.Digests) func(Component, tpm.Digests) error {
	return func(comp Component, ds tpm.Digests) error {
		if err := check(comp, ds); err != nil {
			return err
		}
		if comp == Kernel || comp == Initrd {
			into[comp] = ds
		}
		return nil
	}
}
