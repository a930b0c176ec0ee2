package hostchan

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the master side of a new pseudo-terminal and its slave's
// path (a tty, as the guest's /dev/ttyS1 is).
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	rc, _ := m.SyscallConn()
	var n int
	var ioErr error
	rc.Control(func(fd uintptr) {
		if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr == nil {
			n, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	})
	if ioErr != nil {
		t.Skipf("pseudo-terminal: %v", ioErr)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

// TestOpenSerialRawWithDeadline: OpenSerial sets raw mode and keeps the
// file pollable, so that a host that does not answer makes Call fail
// after WithTimeout instead of blocking forever, and a host that answers
// is read back byte for byte (no CR/LF translation, no echo).
func TestOpenSerialRawWithDeadline(t *testing.T) {
	m, slave := openPTY(t)
	f, err := OpenSerial(slave)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := NewClient(f, WithTimeout(200*time.Millisecond))
	start := time.Now()
	if _, err := c.Call("x", nil); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent host: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the deadline took %s", d)
	}
	// The request reached the master side as sent: raw, no \n → \r\n.
	buf := make([]byte, 64)
	k, _ := m.Read(buf)
	if string(buf[:k]) != "\nSLKIT1 Q 1 x -\n" {
		t.Fatalf("master read %q", buf[:k])
	}
	go m.Write([]byte("SLKIT1 A 2 OK aGk=\n"))
	got, err := c.Call("y", nil)
	if err != nil || string(got) != "hi" {
		t.Fatalf("answered host: %q %v", got, err)
	}
	if _, err := OpenSerial("/dev/null"); err == nil {
		t.Fatal("/dev/null accepted as a tty")
	}
}
