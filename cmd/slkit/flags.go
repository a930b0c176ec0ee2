package main

import (
	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
)

// checkFlags installs the CLI's flag checks on a command tree
// (clikit.Check): an empty path, a required flag, each one line (exit 1).
func checkFlags(c *cli.Command) { clikit.Check(c, pathFlags) }

// usage is a usage error (exit 1).
func usage(err error) error { return clikit.UsageError{Err: err} }

// pathFlags are the flags whose value names a file, a directory or a
// device: given as "", they name nothing, and a command would otherwise
// fail later with an error that does not say which flag was empty.
var pathFlags = map[string]bool{
	"kernel": true, "initrd": true, "policy": true, "policy-key": true, "log": true, "root": true,
	"out": true, "in": true, "pub": true, "key": true, "dce": true, "platform": true, "save": true,
	"journal": true, "state": true, "pcr-values": true, "eventlog": true, "pin-file": true, "data": true,
	"vars": true, "tpm-state": true, "dir": true, "disk": true, "device": true, "efivars": true,
	"file": true, "expect-file": true, "start": true, "next-pcrs": true, "next-policy": true,
	"relaunch-policy": true, "next-root": true, "relaunch-root": true, "host-channel": true,
	"slkit-binary": true, "source": true, "config": true, "sealed": true, "efi-journal": true,
	"efi-state": true, "efi-pub": true, "module": true, "grub-root": true,
}

// optionalString is the value of the string flag name, nil when it is not
// given: for a flag whose empty value means something (no log) other than
// its absence (the default).
func optionalString(c *cli.Context, name string) *string {
	if !c.IsSet(name) {
		return nil
	}
	s := c.String(name)
	return &s
}

// givenString is the value of the string flag name, "" when it is not
// given (also when it has a default).
func givenString(c *cli.Context, name string) string {
	if !c.IsSet(name) {
		return ""
	}
	return c.String(name)
}
