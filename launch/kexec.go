package launch

import (
	"fmt"
	"io"
	"math"

	"github.com/u-root/u-root/pkg/boot"
)

// Kexec is the launch's hardware seam: it loads the next kernel and hands
// over to it. NewKexec is the real one (u-root pkg/boot); tests and the
// QEMU rig swap in their own.
type Kexec interface {
	// Load loads the kernel, initrd and command line into the running
	// kernel, ready to execute.
	Load(*Handover) error
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

// WithDryRun makes Load read each image through, as a real load does,
// without staging copies (u-root copies images that are not read-only
// files on tmpfs to $TMPDIR, where a dry run would leave them: nothing
// reboots to clear them) and without calling kexec_file_load or
// kexec_load, and Execute return nil without rebooting.
func WithDryRun(dryRun bool) KexecOption { return func(c *kexecConfig) { c.dryRun = dryRun } }

// WithKexecLoad skips kexec_file_load and uses kexec_load directly.
func WithKexecLoad() KexecOption { return func(c *kexecConfig) { c.kexecLoad = true } }

// NewKexec returns the u-root pkg/boot kexec: Load tries kexec_file_load
// (the kernel parses and, under lockdown, verifies the image) and falls
// back to kexec_load (u-root parses the bzImage and builds the segments);
// Execute is boot.Execute (reboot(LINUX_REBOOT_CMD_KEXEC)). Images that are
// not read-only regular files on tmpfs/ramfs (the concatenated initrd)
// are copied by u-root to a file in $TMPDIR first, which must be writable.
func NewKexec(opts ...KexecOption) Kexec {
	k := &urootKexec{}
	for _, o := range opts {
		o(&k.cfg)
	}
	return k
}

type urootKexec struct {
	cfg    kexecConfig
	loaded bool
}

func (k *urootKexec) Load(h *Handover) error {
	if h == nil || h.Kernel == nil {
		return fmt.Errorf("%w: no kernel", ErrKexec)
	}
	if k.cfg.dryRun {
		for _, r := range []io.ReaderAt{h.Kernel, h.Initrd} {
			if r == nil {
				continue
			}
			if _, err := io.Copy(io.Discard, io.NewSectionReader(r, 0, math.MaxInt64)); err != nil {
				return fmt.Errorf("%w: read image: %w", ErrKexec, err)
			}
		}
		k.loaded = true
		return nil
	}
	img := &boot.LinuxImage{Name: "slkit", Kernel: h.Kernel, Initrd: h.Initrd, Cmdline: h.Cmdline}
	var opts []boot.LoadOption
	var errFile error
	if !k.cfg.kexecLoad {
		errFile = img.Load(opts...)
		if errFile == nil {
			k.loaded = true
			return nil
		}
	}
	img.LoadSyscall = true
	err := img.Load(opts...)
	if err != nil {
		if errFile != nil {
			return fmt.Errorf("%w: kexec_file_load: %w; kexec_load: %w", ErrKexec, errFile, err)
		}
		return fmt.Errorf("%w: kexec_load: %w", ErrKexec, err)
	}
	k.loaded = true
	return nil
}

func (k *urootKexec) Execute() error {
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
