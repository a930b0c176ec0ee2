package pid1

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/internal/fsys"
)

// NewSystem returns the real system: Linux system calls.
func NewSystem() System { return linuxSystem{} }

type linuxSystem struct{}

func (linuxSystem) Stdio(console string) error {
	var c *os.File
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			continue
		}
		if c == nil {
			var err error
			if c, err = os.OpenFile(console, os.O_RDWR|unix.O_NOCTTY, 0); err != nil {
				return err
			}
		}
		if err := unix.Dup3(int(c.Fd()), fd, 0); err != nil {
			return err
		}
	}
	return nil
}

func (linuxSystem) MkdirAll(path string) error { return os.MkdirAll(path, 0o755) }

func (linuxSystem) Mount(source, target, fstype string, flags uintptr) error {
	return unix.Mount(source, target, fstype, flags, "")
}

func (linuxSystem) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

func (linuxSystem) ReadFileAtMost(path string, max int64) ([]byte, error) {
	return fsys.OS{}.ReadFile(path, max)
}

func (linuxSystem) ReplaceFile(path string, data []byte) error {
	if len(data) > 0 {
		return fsys.WriteFile(fsys.OS{}, path, data, 0o600)
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (linuxSystem) Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (linuxSystem) LoadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	return nil
}

// childEnv is the whole environment of the run command and the shell. It
// is fixed: the kernel hands init the unknown "name=value" words of its
// command line as environment variables, and those must not steer the
// launch (SLKIT_TPM, GODEBUG, TMPDIR, …); what the command does is decided
// by the image's init configuration alone.
func childEnv() []string {
	return []string{"HOME=/", "PATH=/bbin:/bin:/ubin:/usr/bin:/sbin:/usr/sbin", "TERM=linux", "TMPDIR=/tmp"}
}

func (linuxSystem) Run(argv []string, stderr io.Writer) (Exit, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return Exit{}, err
	}
	defer pr.Close()
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: argv, Env: childEnv(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: pw}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return Exit{}, err
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(stderr, pr)
		close(copied)
	}()
	ws, err := reap(cmd.Process)
	// A grandchild that kept stderr open must not hold up PID 1.
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	if err != nil {
		return Exit{}, err
	}
	if ws.Signaled() {
		return Exit{Code: -1, Signal: unix.SignalName(ws.Signal())}, nil
	}
	return Exit{Code: ws.ExitStatus()}, nil
}

func (linuxSystem) Shell(path string) error {
	cmd := &exec.Cmd{Path: path, Args: []string{path}, Env: childEnv(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}}
	if err := cmd.Start(); err != nil {
		return err
	}
	_, err := reap(cmd.Process)
	return err
}

// reap waits for any child until p ends, as init must (orphans are
// re-parented to PID 1), and returns p's status.
func reap(p *os.Process) (unix.WaitStatus, error) {
	defer p.Release()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return ws, err
		case pid == p.Pid:
			return ws, nil
		}
	}
}

func (linuxSystem) Reboot(a initramfs.FailureAction) error {
	unix.Sync()
	cmd := unix.LINUX_REBOOT_CMD_POWER_OFF
	if a == initramfs.Reboot {
		cmd = unix.LINUX_REBOOT_CMD_RESTART
	}
	return unix.Reboot(cmd)
}

func (linuxSystem) Uptime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
