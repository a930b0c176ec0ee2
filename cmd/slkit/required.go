package main

import (
	"fmt"
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
