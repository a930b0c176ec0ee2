package hostchan

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCallAndErrors(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	s := NewServer()
	s.Handle("echo", func(p []byte) ([]byte, error) { return append([]byte("re:"), p...), nil })
	s.Handle("fail", func([]byte) ([]byte, error) { return nil, errors.New("nope\nsecond line") })
	go s.Serve(b)
	c := NewClient(a)
	big := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n', '\r', ' '}, 20000)
	got, err := c.Call("echo", big)
	if err != nil || !bytes.Equal(got, append([]byte("re:"), big...)) {
		t.Fatalf("echo: %v", err)
	}
	if _, err := c.Call("fail", nil); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "nope second line") {
		t.Fatalf("fail: %v", err)
	}
	if _, err := c.Call("unknown", nil); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := c.Call("Bad Verb", nil); err == nil {
		t.Fatal("a verb with a space was sent")
	}
	if _, err := c.Call("echo", make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("an oversized payload was sent")
	}
	if got := s.Served(); strings.Join(got, ",") != "echo,fail,unknown" {
		t.Fatalf("served %v", got)
	}
}

// TestNoiseAndEcho checks that kernel noise, an echoed request, a stale
// answer and malformed lines on the port do not confuse the client.
func TestNoiseAndEcho(t *testing.T) {
	var out bytes.Buffer
	in := strings.NewReader("[    1.0] serial8250: ttyS1\r\n" +
		"SLKIT1 Q 1 x -\n" + // our own request, echoed
		"SLKIT1 A 7 OK -\n" + // a stale answer
		"SLKIT1 A 01 OK aGk=\n" + // non-canonical id
		"SLKIT1 A 1 OK aGk\n" + // bad base64
		"SLKIT1 A 1 MAYBE aGk=\n" +
		"SLKIT1 A 1 OK aGk=\r\n")
	c := NewClient(struct {
		io.Reader
		io.Writer
	}{in, &out})
	got, err := c.Call("x", nil)
	if err != nil || string(got) != "hi" {
		t.Fatalf("%q %v", got, err)
	}
	if out.String() != "\nSLKIT1 Q 1 x -\n" {
		t.Fatalf("sent %q", out.String())
	}
}

// TestOverlongLineSkipped: a line longer than any message is dropped
// without being buffered whole, and the next message is read.
func TestOverlongLineSkipped(t *testing.T) {
	long := "SLKIT1 A 1 OK " + strings.Repeat("A", maxLine+10) + "\n"
	r := newReader(strings.NewReader(long + "SLKIT1 A 2 OK aGk=\n"))
	m, err := r.next()
	if err != nil || m.ID != 2 || string(m.Payload) != "hi" {
		t.Fatalf("%+v %v", m, err)
	}
}

// TestGoldenLines checks the encoding against lines written by hand from
// the format in doc.go.
func TestGoldenLines(t *testing.T) {
	for _, c := range []struct {
		m    Message
		line string
	}{
		{Message{Kind: Request, ID: 1, Verb: VerbTPMHash, Payload: []byte("1234")}, "SLKIT1 Q 1 tpm-hash MTIzNA==\n"},
		{Message{Kind: Request, ID: 4294967295, Verb: "a.b_c-9"}, "SLKIT1 Q 4294967295 a.b_c-9 -\n"},
		{Message{Kind: Answer, ID: 7, OK: true}, "SLKIT1 A 7 OK -\n"},
		{Message{Kind: Answer, ID: 8, Payload: []byte("no")}, "SLKIT1 A 8 ERR bm8=\n"},
	} {
		b, err := c.m.Marshal()
		if err != nil || string(b) != c.line {
			t.Errorf("Marshal(%+v) = %q, %v; want %q", c.m, b, err, c.line)
		}
		m, err := ParseLine([]byte(c.line))
		if err != nil || !equal(m, c.m) {
			t.Errorf("ParseLine(%q) = %+v, %v", c.line, m, err)
		}
	}
	for _, bad := range []string{"SLKIT1 Q 1 tpm-hash", "SLKIT1 Q 1 TPM-HASH -", "SLKIT1 Q 4294967296 x -",
		"SLKIT1 Q -1 x -", "SLKIT1 X 1 x -", "SLKIT1  Q 1 x -", "SLKIT2 Q 1 x -", "SLKIT1 Q 1 x ", "SLKIT1 Q 1 x MTIzNA"} {
		if _, err := ParseLine([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseLine(%q): %v, want ErrMalformed", bad, err)
		}
	}
}

func TestClientTimeout(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.Copy(io.Discard, b) // a host that never answers
	c := NewClient(a, WithTimeout(50*time.Millisecond))
	if _, err := c.Call("x", nil); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
}

func TestTPMVerbs(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	s := NewServer()
	var hashed []byte
	var loc []byte
	s.Handle(VerbTPMHash, func(p []byte) ([]byte, error) { hashed = p; return nil, nil })
	s.Handle(VerbTPMLocality, func(p []byte) ([]byte, error) { loc = p; return nil, nil })
	go s.Serve(b)
	c := NewClient(a)
	if err := c.TPMHash([]byte("dce")); err != nil || string(hashed) != "dce" {
		t.Fatalf("TPMHash: %v, host got %q", err, hashed)
	}
	if err := c.TPMLocality(2); err != nil || !bytes.Equal(loc, []byte{2}) {
		t.Fatalf("TPMLocality: %v, host got %v", err, loc)
	}
	if err := c.TPMLocality(5); err == nil {
		t.Fatal("locality 5 accepted")
	}
}

func equal(a, b Message) bool {
	return a.Kind == b.Kind && a.ID == b.ID && a.Verb == b.Verb && a.OK == b.OK && bytes.Equal(a.Payload, b.Payload)
}

// firmwareNoise is what OVMF leaves on the guest's second serial port
// before the kernel runs: terminal control sequences and no newline (a
// capture from the rig, q35 + OVMF 2022.11).
const firmwareNoise = "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01H\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01H"

// TestRequestAfterUnterminatedNoise: a request must reach the server even
// when the port already holds a line that was never terminated (the
// firmware's output above): the server reads whole lines, and a request
// glued to the end of that noise would not start with the magic.
func TestRequestAfterUnterminatedNoise(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := NewServer()
	s.Handle("echo", func(p []byte) ([]byte, error) { return p, nil })
	// The server sees the firmware's bytes first, then what the client sends.
	go s.Serve(struct {
		io.Reader
		io.Writer
	}{io.MultiReader(strings.NewReader(firmwareNoise), b), b})
	c := NewClient(a, WithTimeout(5*time.Second))
	got, err := c.Call("echo", []byte("hi"))
	if err != nil || string(got) != "hi" {
		t.Fatalf("Call after firmware noise: %q, %v", got, err)
	}
}
