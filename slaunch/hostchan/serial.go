package hostchan

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenSerial opens a serial device (the guest's /dev/ttyS1) in raw mode:
// no echo, no line editing, no CR/LF translation (termios(3) cfmakeraw).
// The file stays in the runtime poller (its termios is set through
// SyscallConn, not Fd, which would switch it to blocking mode), so that
// read deadlines, and with them WithTimeout, work on it.
func OpenSerial(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("host channel: %w", err)
	}
	if err := makeRaw(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func makeRaw(f *os.File, path string) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("host channel: %s: %w", path, err)
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			opErr = fmt.Errorf("host channel: %s is not a usable serial port (TCGETS: %w)", path, err)
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		if err := unix.IoctlSetTermios(int(fd), unix.TCSETS, t); err != nil {
			opErr = fmt.Errorf("host channel: raw mode on %s: %w", path, err)
		}
	}); err != nil {
		return fmt.Errorf("host channel: %s: %w", path, err)
	}
	return opErr
}
