package hostchan

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func TestCallAndErrors(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	s := NewServer()
	s.Handle("echo", func(p []byte) ([]byte, error) { return append([]byte("re:"), p...), nil })
	s.Handle("fail", func([]byte) ([]byte, error) { return nil, errors.New("nope") })
	go s.Serve(b)
	c := NewClient(a)
	big := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n', '\r'}, 20000)
	got, err := c.Call("echo", big)
	if err != nil || !bytes.Equal(got, append([]byte("re:"), big...)) {
		t.Fatalf("echo: %v", err)
	}
	if _, err := c.Call("fail", nil); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("fail: %v", err)
	}
	if _, err := c.Call("unknown", nil); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("unknown: %v", err)
	}
	if got := s.Served(); strings.Join(got, ",") != "echo,fail,unknown" {
		t.Fatalf("served %v", got)
	}
}

// TestNoiseAndEcho checks that kernel noise and an echoed request on the
// line do not confuse the client.
func TestNoiseAndEcho(t *testing.T) {
	var out bytes.Buffer
	in := strings.NewReader("[    1.0] serial8250: ttyS1\r\nSLKIT1 Q 1 x -\nSLKIT1 A 7 OK -\nSLKIT1 A 1 OK aGk=\r\n")
	c := NewClient(struct {
		io.Reader
		io.Writer
	}{in, &out})
	got, err := c.Call("x", nil)
	if err != nil || string(got) != "hi" {
		t.Fatalf("%q %v", got, err)
	}
	if out.String() != "SLKIT1 Q 1 x -\n" {
		t.Fatalf("sent %q", out.String())
	}
}
