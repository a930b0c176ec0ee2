package main

import (
	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/slaunch"
)

// inputErr is an input file that is missing, unreadable or malformed,
// named first (name "" for none).
func inputErr(name string, err error) error { return &fsys.InputError{Path: name, Err: err} }

// flagInputError names the input a malformed-image error of package
// slaunch is about, once (slaunch.NameInput): "--kernel PATH: at byte
// offset …" rather than "PATH: kernel: at byte offset …" (the error's own
// prefix is the flag's role). Other errors are returned as they are.
func flagInputError(c *cli.Context, flag string, err error) error {
	return slaunch.NameInput("--"+flag+" "+c.String(flag), flag, err)
}
