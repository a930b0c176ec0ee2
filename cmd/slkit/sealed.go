package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

// sealedError names the sealed file in an error that is about it: its
// content, or its SRK that is not this TPM's.
func sealedError(name string, err error) error {
	if errors.Is(err, tpm.ErrBadSealed) || errors.Is(err, tpm.ErrSealedTampered) || errors.Is(err, tpm.ErrSRKMismatch) {
		return inputErr(name, err)
	}
	return err
}

// pinIf reads the PIN when need (a sealed file was sealed with one) and
// refuses --pin and --pin-file otherwise: "SUBJECT requires a PIN", and
// "WITHOUT: leave out --pin and --pin-file".
func (e *env) pinIf(c *cli.Context, need bool, subject, without string) ([]byte, error) {
	given := c.Bool("pin") || c.String("pin-file") != ""
	switch {
	case need && !given:
		return nil, usage(fmt.Errorf("%s requires a PIN: give --pin or --pin-file", subject))
	case !need && given:
		return nil, usage(fmt.Errorf("%s: leave out --pin and --pin-file", without))
	case !need:
		return nil, nil
	}
	return e.readPIN(c, false)
}

// readPIN reads the PIN from --pin-file, or with --pin from the terminal
// (no echo) or the first line of stdin (tpm.ReadPIN). It returns nil
// when no PIN is asked; a PIN tpm refuses is an input error naming where
// it came from.
func (e *env) readPIN(c *cli.Context, stdinTaken bool) ([]byte, error) {
	from, line := c.String("pin-file"), []byte(nil)
	switch {
	case from != "":
		b, err := inPIN.Read(from)
		if err != nil {
			return nil, err
		}
		line = b
	case !c.Bool("pin"):
		return nil, nil
	default:
		if e.readPassword != nil {
			if pin, ok, err := e.readPassword("PIN: "); ok {
				if err != nil {
					return nil, inputErr("terminal", err)
				}
				if pin, err = tpm.CheckPIN(pin); err != nil {
					return nil, inputErr("the PIN typed", err)
				}
				return pin, nil
			}
		}
		if stdinTaken {
			return nil, usage(errors.New("--pin reads stdin, which --in - already uses: give --pin-file"))
		}
		b, err := bufio.NewReader(io.LimitReader(e.stdin, inPIN.Max)).ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, inputErr("stdin", err)
		}
		from, line = "stdin", b
	}
	pin, err := tpm.ReadPIN(line)
	if err != nil {
		return nil, inputErr(from, err)
	}
	return pin, nil
}

// currentLogs reads the event logs that explain a refused unseal: the
// given ones, or the firmware's when none is given and it exists. A given
// file that cannot be read (missing, too large, not a regular file) is an
// input error. A log that does not parse, and the firmware's log for any
// reason, only loses the explanation: problem says why, and the unseal
// goes on (the log explains a refusal, it never causes one).
func currentLogs(files []string) (logs []*tpm.EventLog, problem string, err error) {
	firmware := len(files) == 0
	if firmware {
		if _, err := os.Stat(tpm.FirmwareLogPath); err != nil {
			return nil, "", nil
		}
		files = []string{tpm.FirmwareLogPath}
	}
	for _, f := range files {
		b, err := inEventLog.Read(f)
		if err != nil {
			if firmware {
				return nil, oneLine(err.Error()), nil
			}
			return nil, "", err
		}
		l, err := tpm.ParseEventLog(b)
		if err != nil {
			return nil, oneLine(f + ": " + err.Error()), nil
		}
		logs = append(logs, l)
	}
	return logs, "", nil
}

// sealedInputs are the inputs of the commands that work on several sealed
// files (update prepare, finish and status).
type sealedInputs struct {
	files []update.File
	pin   []byte
	logs  []*tpm.EventLog
	// logProblem says why the event log is unusable ("" when it is not).
	logProblem string
}

// readSealedInputs reads every --sealed file (each a path the atomic
// writer can replace, when the command rewrites them: replace), the one
// PIN they need, and, with logs, the current event logs (--eventlog).
func (e *env) readSealedInputs(c *cli.Context, replace, logs bool) (*sealedInputs, error) {
	in, need := &sealedInputs{}, false
	for _, n := range c.StringSlice("sealed") {
		if replace {
			if err := fsys.CheckOutput(n); err != nil {
				return nil, err
			}
		}
		s, err := fsys.ReadInput(inSealed, n, tpm.ParseSealed)
		if err != nil {
			return nil, err
		}
		in.files, need = append(in.files, update.File{Name: n, Sealed: s}), need || s.Policy.PIN
	}
	var err error
	if in.pin, err = e.pinIf(c, need, "a sealed file", "no sealed file requires a PIN"); err != nil {
		return nil, err
	}
	if !logs {
		return in, nil
	}
	in.logs, in.logProblem, err = currentLogs(c.StringSlice("eventlog"))
	return in, err
}
