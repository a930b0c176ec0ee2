package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type vmConfig struct {
	kernel, initrd, appendArgs string
	esp                        string
	memMiB                     int
	cpus                       int
	ovmf                       *OVMF
	tpmSocket                  string
	hostChanSocket             string
	live                       io.Writer
	lineHook                   func(string, time.Time)
	noReboot                   bool
	accel                      string
	tpmDevice                  string
	extra                      []string
}

// VMOption configures StartVM.
type VMOption func(*vmConfig)

// WithKernel boots a kernel directly (-kernel); with OVMF the firmware
// loads it through its EFI stub.
func WithKernel(path string) VMOption { return func(c *vmConfig) { c.kernel = path } }

// WithInitrd adds an initramfs (-initrd).
func WithInitrd(path string) VMOption { return func(c *vmConfig) { c.initrd = path } }

// DefaultAppend is the default kernel command line: the console on ttyS0,
// reboot (so, with -no-reboot, exit) at once on a panic, quiet (serial
// output is slow under TCG), and no_timer_check (on a busy host, TCG can
// miss the IO-APIC timer check's deadline and the kernel then panics with
// "IO-APIC + timer doesn't work!").
const DefaultAppend = "console=ttyS0 panic=-1 quiet no_timer_check"

// WithAppend sets the kernel command line (default DefaultAppend).
func WithAppend(args string) VMOption { return func(c *vmConfig) { c.appendArgs = args } }

// WithMemory sets guest memory in MiB (default 512).
func WithMemory(mib int) VMOption { return func(c *vmConfig) { c.memMiB = mib } }

// WithCPUs gives the guest n vCPUs (-smp n; default 1).
func WithCPUs(n int) VMOption { return func(c *vmConfig) { c.cpus = n } }

// WithOVMF boots UEFI firmware (q35) instead of SeaBIOS.
func WithOVMF(o OVMF) VMOption { return func(c *vmConfig) { c.ovmf = &o } }

// WithTPM attaches a TPM (tpm-tis) whose control channel is the unix socket
// path: swtpm's own control socket, or a Mux's.
func WithTPM(ctrlSocket string) VMOption { return func(c *vmConfig) { c.tpmSocket = ctrlSocket } }

// WithHostChannel makes the guest's second serial port (ttyS1) a
// connection to the unix socket path, on which the host listens.
func WithHostChannel(path string) VMOption { return func(c *vmConfig) { c.hostChanSocket = path } }

// WithConsoleWriter also streams the console, line by line, to w.
func WithConsoleWriter(w io.Writer) VMOption { return func(c *vmConfig) { c.live = w } }

// WithLineHook calls f with every complete console line and its arrival time.
func WithLineHook(f func(line string, at time.Time)) VMOption {
	return func(c *vmConfig) { c.lineHook = f }
}

// WithReboot lets a guest reboot stay inside the same QEMU process (default:
// -no-reboot, so a reboot ends QEMU).
func WithReboot() VMOption { return func(c *vmConfig) { c.noReboot = false } }

// WithAccel sets the accelerator ("tcg" or "kvm"; default: Accel).
func WithAccel(a string) VMOption { return func(c *vmConfig) { c.accel = a } }

// WithTPMDevice sets the TPM front end: "tpm-tis" (default) or "tpm-crb"
// (q35 only, that is with OVMF).
func WithTPMDevice(dev string) VMOption { return func(c *vmConfig) { c.tpmDevice = dev } }

// WithQEMUArgs appends raw QEMU arguments.
func WithQEMUArgs(args ...string) VMOption {
	return func(c *vmConfig) { c.extra = append(c.extra, args...) }
}

// VM is a running QEMU process.
type VM struct {
	// Dir holds the console capture (console.log) and firmware variables.
	Dir     string
	Args    []string
	Started time.Time

	cmd     *exec.Cmd
	console *Console
	done    chan struct{}
	err     error
}

// StartVM starts qemu-system-x86_64 with state in dir. The console (ttyS0)
// is captured to dir/console.log and available through Console.
func StartVM(ctx context.Context, dir string, opts ...VMOption) (*VM, error) {
	cfg := vmConfig{memMiB: 512, appendArgs: DefaultAppend, noReboot: true, tpmDevice: "tpm-tis"}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.accel == "" {
		cfg.accel = Accel(cfg.kernel)
	}
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return nil, fmt.Errorf("qemu-system-x86_64: %w (apt-get install qemu-system-x86, or run make deps)", ErrNotInstalled)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	args, err := cfg.args(dir)
	if err != nil {
		return nil, err
	}
	vm := &VM{Dir: dir, Args: args, console: newConsole(cfg.live, cfg.lineHook), done: make(chan struct{})}
	capture, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		return nil, err
	}
	vm.cmd = exec.Command(bin, args...)
	vm.cmd.Stdin = nil
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := vm.cmd.StdoutPipe()
	if err != nil {
		capture.Close()
		return nil, err
	}
	stderr, err := os.Create(filepath.Join(dir, "qemu.stderr"))
	if err != nil {
		capture.Close()
		return nil, err
	}
	vm.cmd.Stderr = stderr
	if err := vm.cmd.Start(); err != nil {
		capture.Close()
		stderr.Close()
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	vm.Started = time.Now()
	vm.console.start = vm.Started
	fed := make(chan struct{})
	go func() { vm.console.feed(stdout, capture); close(fed) }()
	go func() {
		<-fed
		vm.err = vm.cmd.Wait()
		capture.Close()
		stderr.Close()
		close(vm.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			vm.Close()
		case <-vm.done:
		}
	}()
	return vm, nil
}

// Console is the guest's ttyS0.
func (vm *VM) Console() *Console { return vm.console }

// Expect waits for a console line matching pattern (see Console.Expect).
func (vm *VM) Expect(ctx context.Context, pattern string) ([]string, error) {
	return vm.console.Expect(ctx, pattern)
}

// PID is the QEMU process ID.
func (vm *VM) PID() int { return vm.cmd.Process.Pid }

// Wait waits for QEMU to exit (the guest powered off, or rebooted with
// -no-reboot) or for ctx to end, in which case QEMU is killed.
func (vm *VM) Wait(ctx context.Context) error {
	select {
	case <-vm.done:
		return vm.exitErr()
	case <-ctx.Done():
		vm.Close()
		return fmt.Errorf("%w: QEMU still running after %s: %w", ErrTimeout, time.Since(vm.Started).Round(time.Second), ctx.Err())
	}
}

// Exited is closed when QEMU has exited.
func (vm *VM) Exited() <-chan struct{} { return vm.done }

func (vm *VM) exitErr() error {
	if vm.err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(vm.err, &ee) {
		msg, _ := os.ReadFile(filepath.Join(vm.Dir, "qemu.stderr"))
		return fmt.Errorf("qemu exited: %v: %s", vm.err, lastLine(string(msg)))
	}
	return vm.err
}

// Kill ends QEMU at once, by its PID, with SIGKILL, and waits: the
// guest's power is cut (what it wrote to a disk image or the OVMF
// variable store stays as far as QEMU had written it; the guest's page
// cache is lost).
func (vm *VM) Kill() error {
	select {
	case <-vm.done:
		return nil
	default:
	}
	_ = vm.cmd.Process.Kill()
	<-vm.done
	return nil
}

// Close kills QEMU by its PID (SIGTERM, then SIGKILL after 3 s) and waits.
func (vm *VM) Close() error {
	select {
	case <-vm.done:
		return nil
	default:
	}
	_ = vm.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-vm.done:
	case <-time.After(3 * time.Second):
		_ = vm.cmd.Process.Kill()
		<-vm.done
	}
	return nil
}

// lastLine is the last non-empty line of s (a process's last words).
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n ")
	return s[strings.LastIndexByte(s, '\n')+1:]
}
