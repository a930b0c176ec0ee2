package hostchan

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrRemote wraps an error the host reported.
var ErrRemote = errkind.New(errkind.IO, "host channel: remote error")

// ClientOption configures NewClient.
type ClientOption func(*Client)

// WithTimeout bounds each Call (default: none) when the ReadWriter has read
// deadlines (an *os.File on a tty or a net.Conn does).
func WithTimeout(d time.Duration) ClientOption { return func(c *Client) { c.timeout = d } }

// Client is the guest side.
type Client struct {
	mu      sync.Mutex
	rw      io.ReadWriter
	r       *reader
	next    uint32
	timeout time.Duration
}

// NewClient speaks the protocol over rw (the guest's /dev/ttyS1, opened
// with OpenSerial).
func NewClient(rw io.ReadWriter, opts ...ClientOption) *Client {
	c := &Client{rw: rw, r: newReader(rw), next: 1}
	for _, o := range opts {
		o(c)
	}
	return c
}

type readDeadliner interface{ SetReadDeadline(time.Time) error }

// Call sends a request and waits for the answer with the same id. An
// error answer is returned as ErrRemote with the host's message.
func (c *Client) Call(verb string, payload []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.next
	c.next++
	line, err := Message{Kind: Request, ID: id, Verb: verb, Payload: payload}.Marshal()
	if err != nil {
		return nil, err
	}
	if d, ok := c.rw.(readDeadliner); ok && c.timeout > 0 {
		if err := d.SetReadDeadline(time.Now().Add(c.timeout)); err == nil {
			defer d.SetReadDeadline(time.Time{})
		}
	}
	// A newline first ends whatever the port held before this request
	// (the firmware writes terminal sequences to every serial port and
	// ends no line), so that the request is a line of its own.
	if _, err := c.rw.Write(append([]byte{'\n'}, line...)); err != nil {
		return nil, fmt.Errorf("host channel: send %s: %w", verb, err)
	}
	for {
		m, err := c.r.next()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, fmt.Errorf("host channel: no answer to %s within %s: %w", verb, c.timeout, err)
			}
			return nil, fmt.Errorf("host channel: waiting for the answer to %s: %w", verb, err)
		}
		if m.Kind != Answer || m.ID != id {
			continue // an echo of our request, or a stale answer
		}
		if !m.OK {
			return nil, fmt.Errorf("%w: %s: %s", ErrRemote, verb, m.Payload)
		}
		return m.Payload, nil
	}
}
