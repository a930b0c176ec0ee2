package main

import (
	"errors"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/slaunch"
)

// Exit codes (documented in `slkit --help`).
const (
	exitOK     = 0
	exitInput  = 1
	exitTPM    = 2
	exitVerify = 3
)

// inputErr is an input file that is missing, unreadable or malformed,
// named first (name "" for none).
func inputErr(name string, err error) error { return &fsys.InputError{Path: name, Err: err} }

// exitCode maps an error to the exit code of its kind (package errkind:
// every package's sentinels carry one), a refusal first: an error that is
// both a verification failure and something else is a refusal. A named
// input file that failed for no known reason is an input error.
func exitCode(err error) int {
	var u clikit.UsageError
	var in *fsys.InputError
	switch {
	case errors.As(err, &u):
		return exitInput
	case errors.Is(err, errkind.Verify):
		return exitVerify
	case errors.Is(err, errkind.Input):
		return exitInput
	case errors.Is(err, errkind.IO):
		return exitTPM
	case errors.As(err, &in):
		return exitInput
	}
	return exitTPM
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// flagInputError names the input a malformed-image error of package
// slaunch is about, once (slaunch.NameInput): "--kernel PATH: at byte
// offset …" rather than "PATH: kernel: at byte offset …" (the error's own
// prefix is the flag's role). Other errors are returned as they are.
func flagInputError(c *cli.Context, flag string, err error) error {
	return slaunch.NameInput("--"+flag+" "+c.String(flag), flag, err)
}
