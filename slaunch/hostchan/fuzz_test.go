package hostchan

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzParseLine: whatever parses re-encodes to the same line, and parses
// back to the same message.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"SLKIT1 Q 1 tpm-hash MTIzNA==", "SLKIT1 A 7 OK -", "SLKIT1 A 8 ERR bm8=\r\n",
		"SLKIT1 Q 01 x -", "SLKIT1 Q 1 x MTIz\rNA==", "SLKIT1 A 1 OK ====", "garbage"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := ParseLine(line)
		if err != nil {
			return
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatalf("parsed %q but cannot marshal %+v: %v", line, m, err)
		}
		trimmed := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if !bytes.Equal(b[:len(b)-1], trimmed) {
			t.Fatalf("ParseLine accepted a non-canonical line %q (canonical %q)", line, b)
		}
		m2, err := ParseLine(b)
		if err != nil || !equal(m, m2) {
			t.Fatalf("round trip: %+v -> %q -> %+v, %v", m, b, m2, err)
		}
	})
}

// FuzzServe feeds arbitrary guest bytes to the server: every line it
// writes back is a well-formed answer, one per well-formed request in the
// input, with the request's id, in order.
func FuzzServe(f *testing.F) {
	f.Add([]byte("SLKIT1 Q 1 echo aGk=\nnoise\nSLKIT1 Q 2 nope -\r\nSLKIT1 A 3 OK -\n"))
	f.Add([]byte("SLKIT1 Q 9 echo " + strings.Repeat("QUFB", 100) + "\n"))
	f.Add([]byte("\n\n\rSLKIT1 Q 1 echo\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := NewServer()
		s.Handle("echo", func(p []byte) ([]byte, error) { return p, nil })
		var out bytes.Buffer
		if err := s.Serve(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), &out}); err != io.EOF {
			t.Fatalf("Serve ended with %v, want EOF", err)
		}
		var want []Message
		for _, l := range bytes.SplitAfter(in, []byte("\n")) {
			if m, err := ParseLine(l); err == nil && m.Kind == Request && len(l) <= maxLine {
				want = append(want, m)
			}
		}
		lines := bytes.SplitAfter(out.Bytes(), []byte("\n"))
		lines = lines[:len(lines)-1] // after the last \n
		if len(lines) != len(want) {
			t.Fatalf("%d answers for %d requests", len(lines), len(want))
		}
		for i, l := range lines {
			a, err := ParseLine(l)
			if err != nil || a.Kind != Answer || a.ID != want[i].ID {
				t.Fatalf("answer %d %q: %+v %v (request %+v)", i, l, a, err, want[i])
			}
			if want[i].Verb == "echo" && (!a.OK || !bytes.Equal(a.Payload, want[i].Payload)) {
				t.Fatalf("echo answer %+v for %+v", a, want[i])
			}
		}
	})
}
