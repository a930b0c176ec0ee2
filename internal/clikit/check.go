package clikit

import (
	"errors"
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"
)

// UsageError is a bad flag or argument: the CLI's exit code 1.
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// Check installs the checks on a command tree, each a one-line
// UsageError, in this order: a flag of paths (a file, a directory, a
// device) given as "", then a Required flag not given (NeedFlags), then
// the command's own checks. urfave/cli's own usage errors become
// UsageErrors too.
func Check(c *cli.Command, paths map[string]bool) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return UsageError{err} }
	enforceRequired(c)
	refuseEmptyPaths(c, paths)
	for _, s := range c.Subcommands {
		Check(s, paths)
	}
}

// enforceRequired replaces urfave/cli's handling of Required flags (which
// prints the help text and exits 2) with NeedFlags' one-line error.
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
			if err := NeedFlags(ctx, required...); err != nil {
				return err
			}
			return action(ctx)
		}
	}
}

// unsetRequired clears Required on the flag types the CLI marks required.
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

// refuseEmptyPaths makes a command refuse a flag of paths given as "" (or,
// repeatable, with a "" among its values) with one line naming the flag:
// `--kernel ""` is "--kernel: empty path".
func refuseEmptyPaths(c *cli.Command, paths map[string]bool) {
	var strs, lists []string
	for _, f := range c.Flags {
		switch n := f.Names()[0]; f.(type) {
		case *cli.StringFlag:
			if paths[n] {
				strs = append(strs, n)
			}
		case *cli.StringSliceFlag:
			if paths[n] {
				lists = append(lists, n)
			}
		}
	}
	if action := c.Action; len(strs)+len(lists) > 0 && action != nil {
		c.Action = func(ctx *cli.Context) error {
			for _, n := range strs {
				if ctx.IsSet(n) && ctx.String(n) == "" {
					return UsageError{fmt.Errorf("--%s: empty path", n)}
				}
			}
			for _, n := range lists {
				if slices.Contains(ctx.StringSlice(n), "") {
					return UsageError{fmt.Errorf("--%s: empty path", n)}
				}
			}
			return action(ctx)
		}
	}
}

// NeedFlags is a UsageError naming the first of names not given (for
// flags required only in some combinations; a flag always required is
// marked Required): "CMD: --NAME is required".
func NeedFlags(c *cli.Context, names ...string) error {
	for _, n := range names {
		if !c.IsSet(n) {
			return UsageError{fmt.Errorf("%s: --%s is required", c.Command.FullName(), n)}
		}
	}
	return nil
}

// OnlyWith is a UsageError for the first of flags given without flag:
// "CMD: --F needs --FLAG".
func OnlyWith(c *cli.Context, flag string, flags ...string) error {
	for _, f := range flags {
		if c.IsSet(f) && !c.IsSet(flag) {
			return UsageError{fmt.Errorf("%s: --%s needs --%s", c.Command.FullName(), f, flag)}
		}
	}
	return nil
}

// NeedArgs is a UsageError unless there are min to max positional
// arguments (max < 0: no maximum): "CMD: want WHAT".
func NeedArgs(c *cli.Context, min, max int, what string) error {
	if n := c.NArg(); n < min || (max >= 0 && n > max) {
		return UsageError{errors.New(c.Command.FullName() + ": want " + what)}
	}
	return nil
}

// NArgs is action after NeedArgs.
func NArgs(min, max int, what string, action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := NeedArgs(c, min, max, what); err != nil {
			return err
		}
		return action(c)
	}
}

// NoArgs is action for a command that takes no positional argument.
func NoArgs(action cli.ActionFunc) cli.ActionFunc { return NArgs(0, 0, "no arguments", action) }

// CountSet is how many of flags are given.
func CountSet(c *cli.Context, flags ...string) int {
	n := 0
	for _, f := range flags {
		if c.IsSet(f) {
			n++
		}
	}
	return n
}
