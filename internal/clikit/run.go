package clikit

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// The exit codes of slkit's commands (each command's --help lists them).
const (
	ExitOK     = 0
	ExitInput  = 1
	ExitTPM    = 2
	ExitVerify = 3
)

// ExitCode maps an error to the exit code of its kind (package errkind:
// every package's sentinels carry one), a refusal first: an error that is
// both a verification failure and something else is a refusal. A usage
// error, and a named input file that failed for no known reason, are
// input errors; anything else is a TPM or I/O failure.
func ExitCode(err error) int {
	var u UsageError
	var in *fsys.InputError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &u):
		return ExitInput
	case errors.Is(err, errkind.Verify):
		return ExitVerify
	case errors.Is(err, errkind.Input):
		return ExitInput
	case errors.Is(err, errkind.IO):
		return ExitTPM
	case errors.As(err, &in):
		return ExitInput
	}
	return ExitTPM
}

// OneLine folds a multi-line message onto one line.
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// Run runs app on args (flags may follow arguments: Interspersed) and
// returns the exit code of its error (ExitCode); the error is printed on
// stderr as exactly one line, "NAME: message", NAME being app.Name.
func Run(app *cli.App, args []string, stderr io.Writer) int {
	err := app.Run(Interspersed(app, args))
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "%s: %s\n", app.Name, OneLine(err.Error()))
	return ExitCode(err)
}

// ExitCodesHelp documents the exit codes in a command's --help.
const ExitCodesHelp = `EXIT CODES:
   0  success
   1  usage or input error (bad flag, missing or malformed file)
   2  TPM or I/O failure
   3  a verification failed (PCR or event-log mismatch, refused unseal, bad signature)`
