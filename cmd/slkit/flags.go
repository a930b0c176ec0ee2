package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"
)

// checkFlags installs the CLI's flag checks on a command tree, each a
// one-line usage error (exit 1), in this order: a path flag given as "",
// then a required flag not given, then the command's own checks.
func checkFlags(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError{err} }
	enforceRequired(c)
	refuseEmptyPaths(c)
	for _, s := range c.Subcommands {
		checkFlags(s)
	}
}

// enforceRequired replaces urfave/cli's handling of Required flags (which
// prints the help text and exits 2) with needFlags' one-line usage error.
func enforceRequired(c *cli.Command) {
	var required []string
	for _, f := range c.Flags {
		if r, ok := f.(cli.RequiredFlag); ok && r.IsRequired() {
			required = append(required, f.Names()[0])
			unsetRequired(f)
		}
	}
	if action := c.Action; len(required) > 0 && action != nil {
		c.Action = func(ctx *cli.Context) error {
			if err := needFlags(ctx, required...); err != nil {
				return err
			}
			return action(ctx)
		}
	}
}

func unsetRequired(f cli.Flag) {
	switch x := f.(type) {
	case *cli.StringFlag:
		x.Required = false
	case *cli.IntFlag:
		x.Required = false
	case *cli.StringSliceFlag:
		x.Required = false
	}
}

// needFlags returns a usage error naming the first flag not given (for
// flags required only in some combinations; a flag always required is
// marked Required).
func needFlags(c *cli.Context, names ...string) error {
	for _, n := range names {
		if !c.IsSet(n) {
			return usageError{fmt.Errorf("%s: --%s is required", c.Command.FullName(), n)}
		}
	}
	return nil
}

// needArgs checks the number of positional arguments.
func needArgs(c *cli.Context, min, max int, what string) error {
	n := c.NArg()
	if n < min || (max >= 0 && n > max) {
		return usageError{errors.New(c.Command.FullName() + ": want " + what)}
	}
	return nil
}

// nArgs is action after needArgs.
func nArgs(min, max int, what string, action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := needArgs(c, min, max, what); err != nil {
			return err
		}
		return action(c)
	}
}

// noArgs is action for a command that takes no positional argument.
func noArgs(action cli.ActionFunc) cli.ActionFunc { return nArgs(0, 0, "no arguments", action) }

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

// refuseEmptyPaths makes a command refuse a path flag given as "" (or,
// repeatable, with a "" among its values) with one line naming the flag:
// `--kernel ""` is "--kernel: empty path".
func refuseEmptyPaths(c *cli.Command) {
	var strs, lists []string
	for _, f := range c.Flags {
		switch n := f.Names()[0]; f.(type) {
		case *cli.StringFlag:
			if pathFlags[n] {
				strs = append(strs, n)
			}
		case *cli.StringSliceFlag:
			if pathFlags[n] {
				lists = append(lists, n)
			}
		}
	}
	if action := c.Action; len(strs)+len(lists) > 0 && action != nil {
		c.Action = func(ctx *cli.Context) error {
			for _, n := range strs {
				if ctx.IsSet(n) && ctx.String(n) == "" {
					return usageError{fmt.Errorf("--%s: empty path", n)}
				}
			}
			for _, n := range lists {
				if slices.Contains(ctx.StringSlice(n), "") {
					return usageError{fmt.Errorf("--%s: empty path", n)}
				}
			}
			return action(ctx)
		}
	}
}

// onlyWith refuses any of flags given without flag: "CMD: --F needs
// --FLAG".
func onlyWith(c *cli.Context, flag string, flags ...string) error {
	for _, f := range flags {
		if c.IsSet(f) && !c.IsSet(flag) {
			return usageError{fmt.Errorf("%s: --%s needs --%s", c.Command.FullName(), f, flag)}
		}
	}
	return nil
}
