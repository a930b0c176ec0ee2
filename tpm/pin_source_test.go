package tpm

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// TestPINSource: the PIN comes from the file, else the terminal, else
// stdin's first line; each refusal is an input error naming its source,
// and Need refuses a PIN missing or given in vain.
func TestPINSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pin")
	os.WriteFile(file, []byte("4711\r\n"), 0o600)
	newline := filepath.Join(dir, "newline.pin")
	os.WriteFile(newline, []byte("\n"), 0o600)
	term := func(pin string, err error) func(string) ([]byte, bool, error) {
		return func(prompt string) ([]byte, bool, error) {
			if prompt != "PIN: " {
				t.Errorf("prompt %q", prompt)
			}
			return []byte(pin), true, err
		}
	}
	noTerm := func(string) ([]byte, bool, error) { return nil, false, nil }
	broken := errors.New("tty gone")
	for _, c := range []struct {
		name string
		s    PINSource
		want string
		err  string // "" for none; else the error's start
		file bool   // the refusal is an *fsys.InputError
	}{
		{name: "none", s: PINSource{Stdin: strings.NewReader("1234\n")}},
		{name: "file", s: PINSource{File: file, StdinTaken: true}, want: "4711"},
		{name: "file and ask", s: PINSource{File: file, Ask: true, Terminal: term("typed", nil)}, want: "4711"},
		{name: "terminal", s: PINSource{Ask: true, Terminal: term("12 34\n", nil), StdinTaken: true}, want: "12 34\n"},
		{name: "stdin", s: PINSource{Ask: true, Terminal: noTerm, Stdin: strings.NewReader("1234\nsecret")}, want: "1234"},
		{name: "stdin, no terminal func", s: PINSource{Ask: true, Stdin: strings.NewReader("99")}, want: "99"},
		{name: "missing file", s: PINSource{File: filepath.Join(dir, "missing")}, err: filepath.Join(dir, "missing") + ": ", file: true},
		{name: "empty file PIN", s: PINSource{File: newline}, err: newline + ": empty PIN", file: true},
		{name: "terminal error", s: PINSource{Ask: true, Terminal: term("", broken)}, err: "terminal: tty gone", file: true},
		{name: "typed empty", s: PINSource{Ask: true, Terminal: term("", nil)}, err: "the PIN typed: empty PIN", file: true},
		{name: "typed too long", s: PINSource{Ask: true, Terminal: term(strings.Repeat("x", MaxPIN+1), nil)}, err: "the PIN typed: a PIN of more than", file: true},
		{name: "stdin taken", s: PINSource{Ask: true, Terminal: noTerm, StdinTaken: true, Stdin: strings.NewReader("1\n")},
			err: "--pin reads stdin, which --in - already uses: give --pin-file"},
		{name: "stdin empty", s: PINSource{Ask: true, Stdin: strings.NewReader("")}, err: "stdin: empty PIN", file: true},
		{name: "stdin unreadable", s: PINSource{Ask: true, Stdin: io.MultiReader(strings.NewReader("12"), failing{broken})}, err: "stdin: tty gone", file: true},
		{name: "stdin too long", s: PINSource{Ask: true, Stdin: strings.NewReader(strings.Repeat("x", 40) + "\n")}, err: "stdin: a PIN of more than", file: true},
	} {
		pin, err := c.s.Read()
		var ie *fsys.InputError
		switch {
		case c.err == "" && (err != nil || string(pin) != c.want):
			t.Errorf("%s: %q, %v; want %q", c.name, pin, err, c.want)
		case c.err != "" && (err == nil || pin != nil || !strings.HasPrefix(err.Error(), c.err) || errors.As(err, &ie) != c.file || !c.file && !errors.Is(err, errkind.Input)):
			t.Errorf("%s: %q, %v; want %q (file %v)", c.name, pin, err, c.err, c.file)
		}
	}
	for _, c := range []struct {
		s    PINSource
		need bool
		want string
		err  string
	}{
		{s: PINSource{}, need: false},
		{s: PINSource{File: file}, need: true, want: "4711"},
		{s: PINSource{Ask: true, Stdin: strings.NewReader("42")}, need: true, want: "42"},
		{s: PINSource{}, need: true, err: "s.sealed requires a PIN: give --pin or --pin-file"},
		{s: PINSource{File: file}, need: false, err: "s.sealed was sealed without a PIN: leave out --pin and --pin-file"},
		{s: PINSource{Ask: true}, need: false, err: "s.sealed was sealed without a PIN: leave out --pin and --pin-file"},
	} {
		pin, err := c.s.Need(c.need, "s.sealed", "s.sealed was sealed without a PIN")
		if c.err == "" && (err != nil || string(pin) != c.want) || c.err != "" && (err == nil || err.Error() != c.err || !errors.Is(err, errkind.Input)) {
			t.Errorf("Need(%v) with %+v: %q, %v; want %q, %q", c.need, c.s, pin, err, c.want, c.err)
		}
	}
}

// failing is a reader that fails with err.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }
