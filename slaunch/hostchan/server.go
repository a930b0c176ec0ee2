package hostchan

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// Handler answers one request verb. Its error is sent to the guest as the
// answer's message (one line).
type Handler func(payload []byte) ([]byte, error)

// Server is the host side: it dispatches requests to handlers by verb.
type Server struct {
	mu       sync.Mutex
	handlers map[string]Handler
	log      []string
}

// NewServer returns a server with no handlers.
func NewServer() *Server { return &Server{handlers: map[string]Handler{}} }

// Handle registers h for verb, replacing any earlier handler.
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

// Serve answers requests on rw, one at a time, until reading fails (EOF
// when the guest's QEMU exits). Answers (echoes) and malformed lines are
// skipped.
func (s *Server) Serve(rw io.ReadWriter) error {
	r := newReader(rw)
	for {
		m, err := r.next()
		if err != nil {
			return err
		}
		if m.Kind != Request {
			continue
		}
		line, err := s.answer(m).Marshal()
		if err != nil {
			return err
		}
		if _, err := rw.Write(line); err != nil {
			return err
		}
	}
}

func (s *Server) answer(m Message) Message {
	s.mu.Lock()
	h := s.handlers[m.Verb]
	s.log = append(s.log, m.Verb)
	s.mu.Unlock()
	a := Message{Kind: Answer, ID: m.ID}
	var err error
	if h == nil {
		err = fmt.Errorf("no handler for %q", m.Verb)
	} else {
		a.Payload, err = h(m.Payload)
	}
	if err == nil && len(a.Payload) > MaxPayload {
		err = fmt.Errorf("answer of %d bytes exceeds %d", len(a.Payload), MaxPayload)
	}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		a.OK, a.Payload = false, []byte(msg[:min(len(msg), 4096)])
	} else {
		a.OK = true
	}
	return a
}
