package clikit

import "github.com/urfave/cli/v2"

// Cmd is a command: its name, usage, action and flags.
func Cmd(name, usage string, action cli.ActionFunc, flags ...cli.Flag) *cli.Command {
	return &cli.Command{Name: name, Usage: usage, Action: action, Flags: flags}
}

// ArgsCmd is a command with positional arguments (args names them in the
// help).
func ArgsCmd(name, args, usage string, action cli.ActionFunc, flags ...cli.Flag) *cli.Command {
	c := Cmd(name, usage, action, flags...)
	c.ArgsUsage = args
	return c
}

// Described is c with a longer description in its help.
func Described(description string, c *cli.Command) *cli.Command {
	c.Description = description
	return c
}

// Group is a command made of subcommands.
func Group(name, usage string, subs ...*cli.Command) *cli.Command {
	return &cli.Command{Name: name, Usage: usage, Subcommands: subs}
}
