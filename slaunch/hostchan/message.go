package hostchan

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/slkit/slkit/internal/errkind"
)

const magic = "SLKIT1"

// MaxPayload bounds a message's payload (before base64).
const MaxPayload = 1 << 20

// maxVerb bounds a verb's length.
const maxVerb = 64

// maxLine bounds one line: the header fields and the base64 payload.
var maxLine = len(magic) + 1 + 2 + 11 + maxVerb + 2 + base64.StdEncoding.EncodedLen(MaxPayload) + 2

// ErrMalformed is returned for a line that starts with the magic but is not
// a well-formed message.
var ErrMalformed = errkind.New(errkind.IO, "host channel: malformed message")

// Kind tells requests from answers.
type Kind byte

// Message kinds.
const (
	Request Kind = 'Q'
	Answer  Kind = 'A'
)

// Message is one line of the protocol.
type Message struct {
	Kind Kind
	ID   uint32
	// Verb names a request's operation (requests only).
	Verb string
	// OK is an answer's status (answers only): false means Payload is an
	// error message.
	OK      bool
	Payload []byte
}

// ValidVerb reports whether v can be sent as a verb.
func ValidVerb(v string) bool {
	if v == "" || len(v) > maxVerb {
		return false
	}
	for _, c := range []byte(v) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Marshal encodes m as one line, newline included.
func (m Message) Marshal() ([]byte, error) {
	if len(m.Payload) > MaxPayload {
		return nil, fmt.Errorf("host channel: payload of %d bytes exceeds %d", len(m.Payload), MaxPayload)
	}
	p := "-"
	if len(m.Payload) > 0 {
		p = base64.StdEncoding.EncodeToString(m.Payload)
	}
	id := strconv.FormatUint(uint64(m.ID), 10)
	switch m.Kind {
	case Request:
		if !ValidVerb(m.Verb) {
			return nil, fmt.Errorf("host channel: bad verb %q", m.Verb)
		}
		return []byte(strings.Join([]string{magic, "Q", id, m.Verb, p}, " ") + "\n"), nil
	case Answer:
		st := "ERR"
		if m.OK {
			st = "OK"
		}
		return []byte(strings.Join([]string{magic, "A", id, st, p}, " ") + "\n"), nil
	}
	return nil, fmt.Errorf("host channel: bad message kind %q", byte(m.Kind))
}

// ParseLine parses one line (without or with its \n or \r\n). It returns
// ErrMalformed for anything that Marshal would not produce.
func ParseLine(line []byte) (Message, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	f := strings.Split(string(line), " ")
	if len(f) != 5 || f[0] != magic {
		return Message{}, fmt.Errorf("%w: want 5 space-separated fields starting with %s", ErrMalformed, magic)
	}
	id, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		return Message{}, fmt.Errorf("%w: id %q", ErrMalformed, f[2])
	}
	m := Message{ID: uint32(id)}
	switch f[1] {
	case "Q":
		m.Kind, m.Verb = Request, f[3]
		if !ValidVerb(m.Verb) {
			return Message{}, fmt.Errorf("%w: verb %q", ErrMalformed, f[3])
		}
	case "A":
		m.Kind = Answer
		switch f[3] {
		case "OK":
			m.OK = true
		case "ERR":
		default:
			return Message{}, fmt.Errorf("%w: status %q", ErrMalformed, f[3])
		}
	default:
		return Message{}, fmt.Errorf("%w: kind %q", ErrMalformed, f[1])
	}
	if f[4] != "-" {
		if f[4] == "" || base64.StdEncoding.DecodedLen(len(f[4])) > MaxPayload+2 {
			return Message{}, fmt.Errorf("%w: payload of %d characters", ErrMalformed, len(f[4]))
		}
		p, err := base64.StdEncoding.Strict().DecodeString(f[4])
		if err != nil || len(p) == 0 || len(p) > MaxPayload {
			return Message{}, fmt.Errorf("%w: payload: not base64 of 1-%d bytes", ErrMalformed, MaxPayload)
		}
		m.Payload = p
	}
	// Only the canonical encoding is accepted (no leading zeros, no
	// characters base64 decoding skips).
	if canon, err := m.Marshal(); err != nil || !bytes.Equal(canon[:len(canon)-1], line) {
		return Message{}, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	return m, nil
}

// reader reads messages, skipping noise, malformed and overlong lines.
type reader struct {
	br *bufio.Reader
}

func newReader(r io.Reader) *reader { return &reader{br: bufio.NewReaderSize(r, 64<<10)} }

// next returns the next well-formed message.
func (r *reader) next() (Message, error) {
	for {
		line, err := r.line()
		if err != nil {
			return Message{}, err
		}
		if !bytes.HasPrefix(line, []byte(magic+" ")) {
			continue
		}
		if m, err := ParseLine(line); err == nil {
			return m, nil
		}
	}
}

// line reads one line of at most maxLine bytes; longer lines are consumed
// and dropped (returned empty).
func (r *reader) line() ([]byte, error) {
	var buf []byte
	overlong := false
	for {
		frag, err := r.br.ReadSlice('\n')
		if !overlong {
			if len(buf)+len(frag) > maxLine {
				overlong, buf = true, nil
			} else {
				buf = append(buf, frag...)
			}
		}
		switch {
		case err == nil:
			if overlong {
				return nil, nil
			}
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return buf, nil
		default:
			return nil, err
		}
	}
}
