package tpm

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// PINSource is where a command reads the PIN of a sealed object (its
// authValue, Part 1 §19.6.4) from, as `slkit seal` and `unseal` take it
// in --pin-file and --pin: a PIN file, or, when asked, the terminal
// (without echo) or else the first line of standard input.
type PINSource struct {
	// File is a PIN file (PINInput, ReadPIN); it implies Ask.
	File string
	// Ask asks for the PIN: on the Terminal, else on Stdin.
	Ask bool
	// Terminal prompts on the terminal and reads a line without echo; ok
	// is false when standard input is not a terminal (nil: never one).
	Terminal func(prompt string) (pin []byte, ok bool, err error)
	// Stdin is standard input: its first line is the PIN when there is no
	// terminal (read through PINInput's limit).
	Stdin io.Reader
	// StdinTaken says that standard input already carries the command's
	// other input (`seal --in -`): the PIN must then come from a file or
	// the terminal.
	StdinTaken bool
}

// Given reports whether a PIN was given or asked for.
func (s *PINSource) Given() bool { return s.Ask || s.File != "" }

// Need reads the PIN when need (the object was sealed with one: Read)
// and refuses a PIN given otherwise. Both refusals are input errors:
// "SUBJECT requires a PIN: give --pin or --pin-file" and "WITHOUT: leave
// out --pin and --pin-file".
func (s *PINSource) Need(need bool, subject, without string) ([]byte, error) {
	switch given := s.Given(); {
	case need && !given:
		return nil, errkind.Mark(errkind.Input, fmt.Errorf("%s requires a PIN: give --pin or --pin-file", subject))
	case !need && given:
		return nil, errkind.Mark(errkind.Input, fmt.Errorf("%s: leave out --pin and --pin-file", without))
	case !need:
		return nil, nil
	}
	return s.Read()
}

// Read reads the PIN from File, or when Ask from the Terminal or else the
// first line of Stdin (ReadPIN; a typed PIN is taken as it is, CheckPIN).
// It returns nil when no PIN is given. A PIN that is refused, or cannot be
// read, is an *fsys.InputError naming where it came from (the file,
// "terminal", "the PIN typed", "stdin"); asking on a taken Stdin is an
// input error.
func (s *PINSource) Read() ([]byte, error) {
	from := s.File
	var line []byte
	var err error
	switch {
	case from != "":
		if line, err = PINInput.Read(from); err != nil {
			return nil, err
		}
	case !s.Ask:
		return nil, nil
	default:
		if s.Terminal != nil {
			if pin, ok, err := s.Terminal("PIN: "); ok {
				if err != nil {
					return nil, &fsys.InputError{Path: "terminal", Err: err}
				}
				if pin, err = CheckPIN(pin); err != nil {
					return nil, &fsys.InputError{Path: "the PIN typed", Err: err}
				}
				return pin, nil
			}
		}
		if s.StdinTaken {
			return nil, errkind.Mark(errkind.Input, errors.New("--pin reads stdin, which --in - already uses: give --pin-file"))
		}
		if line, err = bufio.NewReader(io.LimitReader(s.Stdin, PINInput.Max)).ReadBytes('\n'); err != nil && err != io.EOF {
			return nil, &fsys.InputError{Path: "stdin", Err: err}
		}
		from = "stdin"
	}
	pin, err := ReadPIN(line)
	if err != nil {
		return nil, &fsys.InputError{Path: from, Err: err}
	}
	return pin, nil
}
