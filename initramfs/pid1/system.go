package pid1

import (
	"fmt"
	"io"
	"time"

	"github.com/slkit/slkit/initramfs"
)

// System is the runtime's one hardware seam: every system call it makes.
// NewSystem is the real one (Linux); tests use a fake that records calls.
type System interface {
	// Stdio makes sure file descriptors 0, 1 and 2 are open, opening the
	// console device for any that is not (the kernel opens it for the
	// first process only when the image has /dev/console).
	Stdio(console string) error
	// MkdirAll creates a mount point and its parents.
	MkdirAll(path string) error
	// Mount is mount(2) with no data.
	Mount(source, target, fstype string, flags uintptr) error
	// ReadFile reads a whole file.
	ReadFile(path string) ([]byte, error)
	// ReadFileAtMost reads a whole file of at most max bytes, checking
	// the size before it reads (a missing file: fs.ErrNotExist).
	ReadFileAtMost(path string, max int64) ([]byte, error)
	// ReplaceFile replaces a file's content atomically and durably (temp
	// file, fsync, rename, fsync of the directory); empty data removes it
	// (and fsyncs the directory).
	ReplaceFile(path string, data []byte) error
	// Exists reports whether path exists.
	Exists(path string) bool
	// LoadModule loads a kernel module file with finit_module(2); a
	// module that is already loaded is not an error.
	LoadModule(path string) error
	// Run runs this program again (/proc/self/exe) as a child with argv
	// (argv[0] is the program name) and a fixed environment (nothing from
	// the kernel command line), stdin and stdout on the console and
	// stderr copied to stderr; it reaps every child (PID 1 inherits
	// orphans) until that one ends, and returns how it ended.
	Run(argv []string, stderr io.Writer) (Exit, error)
	// Shell runs an interactive shell on the console, with the console
	// as its controlling terminal, until it exits.
	Shell(path string) error
	// Reboot syncs the file systems and powers off or restarts
	// (reboot(2)). On success it does not return.
	Reboot(a initramfs.FailureAction) error
	// Uptime is the time since boot (CLOCK_BOOTTIME).
	Uptime() time.Duration
}

// Exit is how a child ended: an exit status, or a signal.
type Exit struct {
	Code   int    // exit status; -1 when killed by a signal
	Signal string // the signal's name when killed
}

// OK reports a zero exit status.
func (e Exit) OK() bool { return e.Code == 0 && e.Signal == "" }

func (e Exit) String() string {
	if e.Signal != "" {
		return "was killed by signal " + e.Signal
	}
	return fmt.Sprintf("exited with status %d", e.Code)
}
