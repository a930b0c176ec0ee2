package slaunch

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/slkit/slkit/slaunch/hostchan"
)

// DefaultHostChannel is the guest's serial port to the rig host: QEMU's
// second 8250 UART, which the Debian kernel has built in (ttyS1).
const DefaultHostChannel = "/dev/ttyS1"

// DefaultHostTimeout bounds each request to the rig host: the _TPM_Hash
// sequence over the 256-byte DCE blob and the locality change take
// milliseconds, so a host that does not answer is not there.
const DefaultHostTimeout = 30 * time.Second

// OpenHostChannel opens the emulated DCE's host channel at path: a unix
// socket is dialled (tests, a launch run on the host), anything else is
// opened as a serial port in raw mode (hostchan.OpenSerial: the guest's
// /dev/ttyS1). Each request waits at most timeout for its answer (0: no
// limit). A channel that cannot be opened is a *NoDRTMError: without it
// the launch cannot happen. The caller closes the returned io.Closer.
func OpenHostChannel(path string, timeout time.Duration) (*hostchan.Client, io.Closer, error) {
	var rw io.ReadWriteCloser
	st, err := os.Stat(path)
	switch {
	case err != nil:
	case st.Mode()&os.ModeSocket != 0:
		rw, err = net.Dial("unix", path)
	default:
		rw, err = hostchan.OpenSerial(path)
	}
	if err != nil {
		return nil, nil, &NoDRTMError{Reason: fmt.Sprintf("no host channel to the emulated DCE at %s: %v", path, err)}
	}
	return hostchan.NewClient(rw, hostchan.WithTimeout(timeout)), rw, nil
}

// LazyHost is the LeaveHost at Path that opens the host channel only when
// Leave reaches its last step, so that the PCRs are extended even when
// there is no host to tell. Close closes the channel if it was opened.
type LazyHost struct {
	Path string
	c    io.Closer
}

// DCELeave opens the channel (DefaultHostTimeout) and tells the host.
func (h *LazyHost) DCELeave() error {
	client, c, err := OpenHostChannel(h.Path, DefaultHostTimeout)
	if err != nil {
		return err
	}
	h.c = c
	return client.DCELeave()
}

// Close closes the channel, if DCELeave opened it.
func (h *LazyHost) Close() error {
	if h.c == nil {
		return nil
	}
	return h.c.Close()
}
