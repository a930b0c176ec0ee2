package launch

import (
	"fmt"

	"github.com/u-root/u-root/pkg/boot"
	"github.com/u-root/u-root/pkg/boot/kexec"
	"github.com/u-root/u-root/pkg/boot/linux"
)

// The system calls that load the next kernel (Loaded.Syscall).
const (
	// SyscallKexecFileLoad is kexec_file_load(2): the kernel reads the
	// images from the descriptors, parses and, under lockdown, verifies
	// the kernel.
	SyscallKexecFileLoad = "kexec_file_load"
	// SyscallKexecLoad is kexec_load(2): u-root's pkg/boot/linux parses
	// the bzImage from the same descriptors and builds the segments.
	SyscallKexecLoad = "kexec_load"
	// SyscallNone is a dry run's: nothing was loaded.
	SyscallNone = "none (dry run)"
)

// Loaded says how Load loaded the next kernel.
type Loaded struct {
	// Syscall is SyscallKexecFileLoad, SyscallKexecLoad or SyscallNone.
	Syscall string
	// FileLoadErr is why kexec_file_load was not used when kexec_load
	// was (nil otherwise).
	FileLoadErr error
}

// Kexec is the launch's hardware seam: it loads the next kernel and hands
// over to it. NewKexec is the real one; tests and the QEMU rig swap in
// their own.
type Kexec interface {
	// Load loads the kernel, initrd and command line into the running
	// kernel, ready to execute, and says which system call did.
	Load(*Handover) (Loaded, error)
	// Execute jumps to the loaded kernel; on success it does not return
	// (except in dry-run mode, where it returns nil).
	Execute() error
}

type kexecConfig struct {
	dryRun    bool
	kexecLoad bool
}

// KexecOption configures NewKexec.
type KexecOption func(*kexecConfig)

// WithDryRun makes Load check the hand-over as a real load does (sealed,
// read-only memory files) without a system call, and Execute return nil
// without rebooting.
func WithDryRun(dryRun bool) KexecOption { return func(c *kexecConfig) { c.dryRun = dryRun } }

// WithKexecLoad skips kexec_file_load and uses kexec_load directly.
func WithKexecLoad() KexecOption { return func(c *kexecConfig) { c.kexecLoad = true } }

// NewKexec returns the real kexec. Load refuses files that are not sealed
// read-only memory files (Staged.Handover makes them) and hands their
// descriptors straight to kexec_file_load (u-root pkg/boot/kexec.FileLoad);
// when the kernel refuses that, to kexec_load (u-root pkg/boot/linux,
// which reads the same descriptors). Nothing is copied, decompressed or
// written to $TMPDIR: the kernel gets the measured bytes exactly. Execute
// is boot.Execute (reboot(LINUX_REBOOT_CMD_KEXEC)).
func NewKexec(opts ...KexecOption) Kexec {
	k := &sysKexec{}
	for _, o := range opts {
		o(&k.cfg)
	}
	return k
}

type sysKexec struct {
	cfg    kexecConfig
	loaded bool
}

func (k *sysKexec) Load(h *Handover) (Loaded, error) {
	if h == nil || h.Kernel == nil {
		return Loaded{}, fmt.Errorf("%w: no kernel", ErrKexec)
	}
	if err := checkSealed(h.Kernel); err != nil {
		return Loaded{}, fmt.Errorf("%w: kernel: %w", ErrKexec, err)
	}
	if h.Initrd != nil {
		if err := checkSealed(h.Initrd); err != nil {
			return Loaded{}, fmt.Errorf("%w: initrd: %w", ErrKexec, err)
		}
	}
	if k.cfg.dryRun {
		k.loaded = true
		return Loaded{Syscall: SyscallNone}, nil
	}
	var errFile error
	if !k.cfg.kexecLoad {
		if errFile = kexec.FileLoad(h.Kernel, h.Initrd, h.Cmdline); errFile == nil {
			k.loaded = true
			return Loaded{Syscall: SyscallKexecFileLoad}, nil
		}
	}
	if err := linux.KexecLoad(h.Kernel, h.Initrd, h.Cmdline, nil, nil); err != nil {
		if errFile != nil {
			return Loaded{}, fmt.Errorf("%w: kexec_file_load: %w; kexec_load: %w", ErrKexec, errFile, err)
		}
		return Loaded{}, fmt.Errorf("%w: kexec_load: %w", ErrKexec, err)
	}
	k.loaded = true
	return Loaded{Syscall: SyscallKexecLoad, FileLoadErr: errFile}, nil
}

func (k *sysKexec) Execute() error {
	if !k.loaded {
		return fmt.Errorf("%w: nothing loaded", ErrKexec)
	}
	if k.cfg.dryRun {
		return nil
	}
	if err := boot.Execute(); err != nil {
		return fmt.Errorf("%w: %w", ErrKexec, err)
	}
	return fmt.Errorf("%w: reboot(LINUX_REBOOT_CMD_KEXEC) returned", ErrKexec)
}
