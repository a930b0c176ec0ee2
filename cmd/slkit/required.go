package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// enforceRequired replaces urfave/cli's handling of Required flags (which
// prints the help text and exits 2) with a one-line usage error (exit 1).
func enforceRequired(c *cli.Command, path string) {
	path = strings.TrimSpace(path + " " + c.Name)
	var required []string
	for _, f := range c.Flags {
		if r, ok := f.(cli.RequiredFlag); ok && r.IsRequired() {
			required = append(required, f.Names()[0])
			unsetRequired(f)
		}
	}
	if len(required) > 0 && c.Action != nil {
		action := c.Action
		c.Action = func(ctx *cli.Context) error {
			var missing []string
			for _, n := range required {
				if !ctx.IsSet(n) {
					missing = append(missing, "--"+n)
				}
			}
			if len(missing) > 0 {
				return usageError{fmt.Errorf("%s: missing required flag %s", path, strings.Join(missing, ", "))}
			}
			return action(ctx)
		}
	}
	for _, s := range c.Subcommands {
		enforceRequired(s, path)
	}
}

func unsetRequired(f cli.Flag) {
	switch x := f.(type) {
	case *cli.StringFlag:
		x.Required = false
	case *cli.IntFlag:
		x.Required = false
	case *cli.UintFlag:
		x.Required = false
	case *cli.BoolFlag:
		x.Required = false
	case *cli.StringSliceFlag:
		x.Required = false
	case *cli.PathFlag:
		x.Required = false
	case *cli.DurationFlag:
		x.Required = false
	case *cli.Int64Flag:
		x.Required = false
	}
}

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

// refuseEmptyPaths makes every command refuse a path flag given as ""
// (or, repeatable, with a "" among its values) with one line naming the
// flag: `--kernel ""` is "--kernel: empty path".
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
	if len(strs)+len(lists) > 0 && c.Action != nil {
		action := c.Action
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
	for _, s := range c.Subcommands {
		refuseEmptyPaths(s)
	}
}
