// Package hostchan is a small request/response protocol between a guest
// and the rig host over a serial port (the guest's ttyS1, a unix socket on
// the host). The guest-side Client is usable from slkit inside a VM; the
// host-side Server dispatches requests to handlers.
//
// Wire format, one message per line, ASCII only so that no tty setting can
// corrupt it:
//
//	request:  SLKIT1 Q <id> <verb> <base64 payload>\n
//	response: SLKIT1 A <id> OK <base64 payload>\n
//	          SLKIT1 A <id> ERR <base64 message>\n
//
// Lines that do not start with "SLKIT1 " are ignored by both sides (a
// guest kernel may write to the port, or echo it).
package hostchan

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

const magic = "SLKIT1"

// MaxPayload bounds a message's payload (before base64).
const MaxPayload = 1 << 20

// ErrRemote wraps an error the other side reported.
var ErrRemote = errors.New("host channel: remote error")

// Handler answers one request verb.
type Handler func(payload []byte) ([]byte, error)

func encode(parts ...string) string { return magic + " " + strings.Join(parts, " ") + "\n" }

func b64(p []byte) string {
	if len(p) == 0 {
		return "-"
	}
	return base64.StdEncoding.EncodeToString(p)
}

func unb64(s string) ([]byte, error) {
	if s == "-" {
		return nil, nil
	}
	if base64.StdEncoding.DecodedLen(len(s)) > MaxPayload {
		return nil, fmt.Errorf("payload over %d bytes", MaxPayload)
	}
	return base64.StdEncoding.DecodeString(s)
}

// readLine reads one line with the magic prefix, skipping others.
func readLine(r *bufio.Reader) ([]string, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		f := strings.Fields(line)
		if len(f) >= 1 && f[0] == magic {
			return f[1:], nil
		}
	}
}

// Client is the guest side.
type Client struct {
	mu   sync.Mutex
	rw   io.ReadWriter
	r    *bufio.Reader
	next int
}

// NewClient speaks the protocol over rw (the guest's /dev/ttyS1, opened raw).
func NewClient(rw io.ReadWriter) *Client {
	return &Client{rw: rw, r: bufio.NewReaderSize(rw, 64<<10), next: 1}
}

// Call sends a request and waits for its answer.
func (c *Client) Call(verb string, payload []byte) ([]byte, error) {
	if verb == "" || strings.ContainsAny(verb, " \n\r") {
		return nil, fmt.Errorf("host channel: bad verb %q", verb)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := strconv.Itoa(c.next)
	c.next++
	if _, err := io.WriteString(c.rw, encode("Q", id, verb, b64(payload))); err != nil {
		return nil, fmt.Errorf("host channel: send %s: %w", verb, err)
	}
	for {
		f, err := readLine(c.r)
		if err != nil {
			return nil, fmt.Errorf("host channel: waiting for the answer to %s: %w", verb, err)
		}
		if len(f) != 4 || f[0] != "A" || f[1] != id {
			continue // an echo of our request, or a stale answer
		}
		p, err := unb64(f[3])
		if err != nil {
			return nil, fmt.Errorf("host channel: answer to %s: %w", verb, err)
		}
		if f[2] == "ERR" {
			return nil, fmt.Errorf("%w: %s: %s", ErrRemote, verb, p)
		}
		return p, nil
	}
}

// Server is the host side.
type Server struct {
	mu       sync.Mutex
	handlers map[string]Handler
	log      []string
}

// NewServer returns a server with no handlers.
func NewServer() *Server { return &Server{handlers: map[string]Handler{}} }

// Handle registers h for verb.
func (s *Server) Handle(verb string, h Handler) {
	s.mu.Lock()
	s.handlers[verb] = h
	s.mu.Unlock()
}

// Served returns the verbs of the requests served so far, in order.
func (s *Server) Served() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// Serve answers requests on rw until it returns an error (EOF when the
// guest's QEMU exits).
func (s *Server) Serve(rw io.ReadWriter) error {
	r := bufio.NewReaderSize(rw, 64<<10)
	for {
		f, err := readLine(r)
		if err != nil {
			return err
		}
		if len(f) != 4 || f[0] != "Q" {
			continue
		}
		id, verb := f[1], f[2]
		s.mu.Lock()
		h := s.handlers[verb]
		s.log = append(s.log, verb)
		s.mu.Unlock()
		var out []byte
		p, err := unb64(f[3])
		if err == nil {
			if h == nil {
				err = fmt.Errorf("no handler for %q", verb)
			} else {
				out, err = h(p)
			}
		}
		resp := encode("A", id, "OK", b64(out))
		if err != nil {
			resp = encode("A", id, "ERR", b64([]byte(err.Error())))
		}
		if _, err := io.WriteString(rw, resp); err != nil {
			return err
		}
	}
}
