package launch

import (
	"crypto/ed25519"
	"fmt"
	"io/fs"
	"os"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// Phases of Launch, reported through WithPhase as they start (the CLI
// prints them as `slkit: phase=<name> t=<seconds>s` for the rig).
const (
	PhaseVerifyPolicy = "verify-policy"
	PhaseMeasure      = "measure"
	PhaseKexec        = "kexec"
)

// Hooks are the points where the other steps of the launch flow plug in
// (docs/design.md, "Flows": commit the pending EFI journal → verify the
// signed launch policy → measure → dynamic launch → kexec; the dynamic
// launch follows the measurement so that it gets images already checked
// against the policy). A nil hook is skipped.
type Hooks struct {
	// CommitEFI runs first: package update commits the pending deferred
	// EFI variable changes here (update.PreLaunch; the journal carries its
	// own signature).
	CommitEFI func() error
	// StageDRTM performs the dynamic launch (see drtm.go) after the
	// entry's images were measured and matched the policy, and returns
	// files for the target (the DRTM log). An entry with require_drtm
	// fails closed with ErrDRTMUnavailable, before any TPM command, when
	// this hook is nil; when the hook returns an error the launch fails
	// closed whether or not the entry requires DRTM. Set it with WithDRTM.
	StageDRTM StageDRTM
	// BeforeExecute runs after the kernel is loaded, right before the
	// hand-over (last chance to refuse; nothing is booted if it fails).
	BeforeExecute func() error
}

type launchConfig struct {
	entry    string
	logPath  string
	fsys     fs.FS
	kexec    Kexec
	phase    func(string)
	warn     func(string)
	info     func(string)
	hooks    Hooks
	handover []HandoverFile
	// profile looks a policy entry's profile up (ProfileByName; tests
	// give profiles this build does not have).
	profile func(string) (*Profile, error)
}

// LaunchOption configures Launch.
type LaunchOption func(*launchConfig)

// WithEntry selects the policy entry by name (default: the first entry).
func WithEntry(name string) LaunchOption { return func(c *launchConfig) { c.entry = name } }

// WithLaunchLog sets the pre-launch event log file (default DefaultLogPath).
func WithLaunchLog(path string) LaunchOption { return func(c *launchConfig) { c.logPath = path } }

// WithFS reads the policy's image paths from fsys (default: the root of
// the running system, where the pre-launch initramfs put them).
func WithFS(fsys fs.FS) LaunchOption { return func(c *launchConfig) { c.fsys = fsys } }

// WithKexec replaces the hand-over (default NewKexec()): tests pass a
// dry-run or recording Kexec, the QEMU rig its own.
func WithKexec(k Kexec) LaunchOption { return func(c *launchConfig) { c.kexec = k } }

// WithWarnings receives warnings: things that do not stop the launch but
// that its operator must see (a dynamic launch that did not happen for an
// entry that does not require it). Default: none are shown.
func WithWarnings(f func(msg string)) LaunchOption { return func(c *launchConfig) { c.warn = f } }

// WithInfo receives what the launch did that its operator may want to
// see, such as the system call that loaded the next kernel ("kexec: loaded
// with kexec_file_load"). Default: none are shown.
func WithInfo(f func(msg string)) LaunchOption { return func(c *launchConfig) { c.info = f } }

// WithPhase is called with each phase's name as it starts.
func WithPhase(f func(name string)) LaunchOption { return func(c *launchConfig) { c.phase = f } }

// WithHandoverFiles hands these unmeasured files to the launched kernel
// with the event log (see HandoverFile: only under HandoverDir).
func WithHandoverFiles(files ...HandoverFile) LaunchOption {
	return func(c *launchConfig) { c.handover = append(c.handover, files...) }
}

// WithHooks sets the hook points of later issues.
func WithHooks(h Hooks) LaunchOption { return func(c *launchConfig) { c.hooks = h } }

// Result is what Launch did before handing over (all of it, in dry-run).
type Result struct {
	Policy      *policy.Verified
	Entry       *policy.Entry
	Measurement *Measurement
	// DRTM are the files the DRTM backend handed to the target (nil
	// without a backend).
	DRTM []HandoverFile
	// DRTMFallback is why the dynamic launch did not happen for an entry
	// that does not require it, which was then launched as a measured
	// launch (nil when DRTM happened or was not asked for).
	DRTMFallback error
	// Kexec says how the next kernel was loaded.
	Kexec Loaded
}

// Launch is the pre-launch entry point. It verifies the signed policy
// under pub before anything else reads its content, selects the entry,
// measures the policy file (PCR 8), hashes each image and compares it with
// the policy before extending it (a mismatch is ErrImageMismatch, naming
// the component, and nothing is booted), measures the rest, writes the
// event log, performs the dynamic launch when a DRTM backend is set
// (WithDRTM; its failure boots nothing), appends the log and the DRTM
// backend's files to the initrd as a cpio (TargetLogPath,
// DRTMTargetLogPath) and hands over with kexec. On success with a real
// Kexec it does not return.
//
// Each image is read once, into a sealed memory file (Stage), before it is
// hashed: the measurement, the policy check, the DRTM backend and kexec
// all read that copy, never the source again.
func Launch(t transport.TPM, signed []byte, pub ed25519.PublicKey, opts ...LaunchOption) (*Result, error) {
	nop := func(string) {}
	cfg := launchConfig{logPath: DefaultLogPath, fsys: os.DirFS("/"), phase: nop, warn: nop, info: nop, profile: ProfileByName}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.kexec == nil {
		cfg.kexec = NewKexec()
	}
	if h := cfg.hooks.CommitEFI; h != nil {
		if err := h(); err != nil {
			return &Result{}, fmt.Errorf("commit EFI variables: %w", err)
		}
	}

	cfg.phase(PhaseVerifyPolicy)
	v, err := VerifyPolicy(signed, pub)
	if err != nil {
		return nil, err
	}
	pe, err := v.Policy.Entry(cfg.entry)
	if err != nil {
		return nil, err
	}
	res := &Result{Policy: v, Entry: pe}
	prof, err := cfg.profile(pe.Profile)
	if err != nil {
		return res, err
	}
	if err := cfg.checkDRTMBackend(pe); err != nil {
		return res, err
	}

	cfg.phase(PhaseMeasure)
	st, err := stageEntry(cfg.fsys, pe, signed)
	if err != nil {
		return res, err
	}
	defer st.Close()
	e := st.Entry()
	if e.PolicyKey, err = PolicyKeyBytes(pub); err != nil {
		return res, err
	}
	digests := map[Component]tpm.Digests{}
	m, err := Measure(t, e, prof, WithLogFile(cfg.logPath), WithCheck(recordDigests(policyCheck(pe), digests)))
	res.Measurement = m
	if err != nil {
		return res, err
	}
	if err := checkPinned(pe, e, digests); err != nil {
		return res, err
	}
	if res.DRTM, err = cfg.stageDRTM(t, pe, e, m, digests, res); err != nil {
		return res, err
	}
	logBytes, err := m.Log.MarshalBinary()
	if err != nil {
		return res, err
	}
	h, err := st.Handover(logBytes, append(append([]HandoverFile(nil), cfg.handover...), res.DRTM...)...)
	if err != nil {
		return res, err
	}

	cfg.phase(PhaseKexec)
	if res.Kexec, err = cfg.kexec.Load(h); err != nil {
		return res, err
	}
	if fe := res.Kexec.FileLoadErr; fe != nil {
		cfg.warn(fmt.Sprintf("kexec_file_load refused the images (%v); loaded them with kexec_load", fe))
	}
	cfg.info("kexec: loaded with " + res.Kexec.Syscall)
	if hk := cfg.hooks.BeforeExecute; hk != nil {
		if err := hk(); err != nil {
			return res, err
		}
	}
	return res, cfg.kexec.Execute()
}
