package pid1

import (
	"fmt"
	"io"
	"strings"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/slkit/slkit/initramfs"
)

// Phases the runtime reports, each as a console line
// `slkit: phase=<name> t=<uptime>s` when it starts (the rig's
// qemu.Tracker parses them; t is the time since boot).
const (
	PhaseInit     = "init"     // the runtime started
	PhaseMount    = "mount"    // proc, sysfs, devtmpfs, securityfs
	PhaseModules  = "modules"  // the configuration's kernel modules
	PhaseEFIVarFS = "efivarfs" // efivarfs, on an EFI system
	PhaseRun      = "run"      // the configured slkit command
	PhaseShell    = "shell"    // the debug shell (only when configured)
	// Then "poweroff" or "reboot": the final action.
)

// shells are where a debug shell is looked for: u-root's gosh in a full
// image, or one added as a payload.
var shells = []string{"/bbin/gosh", "/bin/gosh", "/bin/defaultsh"}

type runtime struct {
	sys        System
	out        io.Writer
	errOut     io.Writer
	configPath string
}

// Option configures Run.
type Option func(*runtime)

// WithConfig reads the init configuration from path (default
// initramfs.ConfigPath).
func WithConfig(path string) Option { return func(r *runtime) { r.configPath = path } }

// WithOutput sets where the runtime's lines and the run command's stderr
// go (default io.Discard; the CLI passes the console).
func WithOutput(stdout, stderr io.Writer) Option {
	return func(r *runtime) { r.out, r.errOut = stdout, stderr }
}

// ErrFinal is returned when the final power-off or reboot itself failed;
// the caller has nothing left to do but exit (as PID 1, the kernel then
// panics, which with panic=N reboots: the target is never booted).
var ErrFinal = errkind.New(errkind.IO, "power off or reboot failed")

// Run is the pre-launch environment's init: as PID 1 of a minimal image,
// or as the uinit of a full one. It sets up stdio on the console, reads
// the init configuration, mounts proc, sysfs, devtmpfs and securityfs
// (skipping what is mounted already), loads the configured modules in
// order, mounts efivarfs on an EFI system, then runs the configured slkit
// command as a child (see the package comment for why a child).
//
// When the command succeeds it prints `slkit: result=ok` and powers off.
// When anything fails it prints `slkit: result=fail reason=<why>`, where
// the reason is the command's own error line, then — only if the image was
// built with a debug shell, and the image has one — runs the shell, and
// powers off or reboots as configured (default power off). It never
// returns on a real system unless that last step fails (ErrFinal).
func Run(sys System, opts ...Option) error {
	r := &runtime{sys: sys, out: io.Discard, errOut: io.Discard, configPath: initramfs.ConfigPath}
	for _, o := range opts {
		o(r)
	}
	// Nothing can be reported before stdio works; if it cannot be set
	// up, carry on: the outcome (poweroff) is the same, only silent.
	stdioErr := sys.Stdio(initramfs.ConsolePath)
	r.phase(PhaseInit)
	if stdioErr != nil {
		r.warn("console %s: %v", initramfs.ConsolePath, stdioErr)
	}
	cfg, err := r.config()
	if err != nil {
		return r.fail(&initramfs.Config{OnFailure: initramfs.PowerOff}, err.Error())
	}
	if err := r.mount(); err != nil {
		return r.fail(cfg, err.Error())
	}
	r.modules(cfg.Modules)
	r.efivarfs()

	r.phase(PhaseRun)
	if reason := r.runSteps(cfg.Steps()); reason != "" {
		return r.fail(cfg, reason)
	}
	job, reason := r.takeJob(cfg)
	if reason != "" {
		return r.fail(cfg, reason)
	}
	if job != nil {
		if reason := r.runSteps(job.Steps); reason != "" {
			return r.fail(cfg, reason)
		}
	}
	fmt.Fprintln(r.out, "slkit: result=ok")
	return r.final(cfg.SuccessAction(job))
}

// runSteps runs steps in order and returns the first one's reason for
// failing, or "".
func (r *runtime) runSteps(steps [][]string) string {
	for _, step := range steps {
		if reason := r.runStep(step); reason != "" {
			return reason
		}
	}
	return ""
}

// runStep runs one configured slkit command as a child and returns why it
// failed, or "" when it succeeded. A step that must be refused
// (initramfs.RefusedStep) succeeds only when the command exits with
// status 1 or 3, and its refusal is printed.
func (r *runtime) runStep(step []string) string {
	args, mustRefuse := initramfs.StepArgs(step)
	argv := append([]string{"slkit"}, args...)
	note := ""
	if mustRefuse {
		note = " (must be refused)"
	}
	fmt.Fprintf(r.out, "slkit: running %s%s\n", strings.Join(argv, " "), note)
	el := &errLine{w: r.errOut}
	exit, err := r.sys.Run(argv, el)
	last := ""
	if l := el.Last(); l != "" {
		last = ": " + l
	}
	switch {
	case err != nil:
		return fmt.Sprintf("cannot run slkit %s: %v", args[0], err)
	case mustRefuse && exit.OK():
		return fmt.Sprintf("slkit %s succeeded, but it must be refused", args[0])
	case mustRefuse && (exit.Code == 1 || exit.Code == 3):
		fmt.Fprintf(r.out, "slkit: refused, as it must be: slkit %s %s%s\n", args[0], exit, last)
		return ""
	case mustRefuse:
		return fmt.Sprintf("slkit %s %s, but it must be refused (status 1 or 3)%s", args[0], exit, last)
	case !exit.OK():
		return fmt.Sprintf("slkit %s %s%s", args[0], exit, last)
	}
	return ""
}

func (r *runtime) phase(name string) {
	fmt.Fprintf(r.out, "slkit: phase=%s t=%.2fs\n", name, r.sys.Uptime().Seconds())
}

func (r *runtime) warn(format string, a ...any) {
	fmt.Fprintf(r.out, "slkit: warning: "+format+"\n", a...)
}

func (r *runtime) config() (*initramfs.Config, error) {
	b, err := r.sys.ReadFile(r.configPath)
	if err != nil {
		return nil, fmt.Errorf("init configuration %s: %v", r.configPath, err)
	}
	cfg, err := initramfs.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("init configuration %s: %v", r.configPath, err)
	}
	return cfg, nil
}

// mount mounts baseMounts in order, skipping mount points that are
// already mounted.
func (r *runtime) mount() error {
	r.phase(PhaseMount)
	var mounted map[string]bool
	if b, err := r.sys.ReadFile(mountsFile); err == nil {
		mounted = parseMounts(b)
	}
	for _, m := range baseMounts {
		if mounted[m.target] {
			continue
		}
		if err := r.mountOne(m); err != nil {
			return err
		}
	}
	return nil
}

func (r *runtime) mountOne(m mount) error {
	if err := r.sys.MkdirAll(m.target); err != nil {
		return fmt.Errorf("mount %s on %s: %v", m.fstype, m.target, err)
	}
	if err := r.sys.Mount(m.source, m.target, m.fstype, m.flags); err != nil {
		return fmt.Errorf("mount %s on %s: %v", m.fstype, m.target, err)
	}
	return nil
}

// modules loads the configured modules in order. A module that fails to
// load is reported and skipped: efivarfs.ko refuses to load on a system
// without EFI (ENODEV), which is no reason not to launch.
func (r *runtime) modules(mods []string) {
	if len(mods) == 0 {
		return
	}
	r.phase(PhaseModules)
	for _, m := range mods {
		if err := r.sys.LoadModule(m); err != nil {
			r.warn("module %s: %v", m, err)
		}
	}
}

// efivarfs mounts efivarfs when the firmware is EFI and nothing mounted
// it yet. A failure is reported, not fatal: a launch that needs EFI
// variables fails on its own, naming them.
func (r *runtime) efivarfs() {
	if !r.sys.Exists(efiDir) {
		return
	}
	if b, err := r.sys.ReadFile(mountsFile); err == nil && parseMounts(b)[efivarfs.target] {
		return
	}
	r.phase(PhaseEFIVarFS)
	if err := r.mountOne(efivarfs); err != nil {
		r.warn("%v", err)
	}
}

// fail reports the reason, runs the debug shell if the image was built
// with one, and ends with the configured action.
func (r *runtime) fail(cfg *initramfs.Config, reason string) error {
	fmt.Fprintf(r.out, "slkit: result=fail reason=%s\n", oneLine(reason))
	action := cfg.OnFailure
	if action == "" {
		action = initramfs.PowerOff
	}
	if cfg.DebugShell {
		r.shell(action)
	}
	return r.final(action)
}

func (r *runtime) shell(action initramfs.FailureAction) {
	for _, sh := range shells {
		if !r.sys.Exists(sh) {
			continue
		}
		fmt.Fprintf(r.out, "slkit: debug shell %s (the image was built with --debug-shell); %s when it exits\n", sh, action)
		r.phase(PhaseShell)
		if err := r.sys.Shell(sh); err != nil {
			r.warn("shell %s: %v", sh, err)
		}
		return
	}
	fmt.Fprintf(r.out, "slkit: debug shell requested, but the image has none (%s)\n", strings.Join(shells, ", "))
}

func (r *runtime) final(a initramfs.FailureAction) error {
	r.phase(string(a))
	if err := r.sys.Reboot(a); err != nil {
		fmt.Fprintf(r.out, "slkit: %s: %v\n", a, err)
		return fmt.Errorf("%w: %s: %w", ErrFinal, a, err)
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
