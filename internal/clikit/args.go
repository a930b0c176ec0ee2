package clikit

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Interspersed moves the leaf command's flags in front of its positional
// arguments, so that `slkit unseal SEALED --out FILE` works: urfave/cli v2
// stops parsing flags at the first positional argument. Flags are
// recognised by the leaf command's definitions; "--" ends flag parsing.
func Interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	// Global flags, then the command path.
	cmds := app.Commands
	var leaf *cli.Command
	for i < len(args) {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			out = append(out, a)
			if takesValue(app.Flags, a) && !strings.Contains(a, "=") && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
			i++
			continue
		}
		c := findCommand(cmds, a)
		if c == nil {
			break
		}
		out = append(out, a)
		leaf, cmds = c, c.Subcommands
		i++
		if len(cmds) == 0 {
			break
		}
	}
	if leaf == nil {
		return args
	}
	var flags, pos []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 && isFlag(leaf.Flags, a) {
			flags = append(flags, a)
			if takesValue(leaf.Flags, a) && !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	out = append(out, flags...)
	return append(out, pos...)
}

func findCommand(cs []*cli.Command, name string) *cli.Command {
	for _, c := range cs {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func flagName(a string) string {
	a = strings.TrimLeft(a, "-")
	if k := strings.IndexByte(a, '='); k >= 0 {
		a = a[:k]
	}
	return a
}

func lookupFlag(fs []cli.Flag, a string) cli.Flag {
	n := flagName(a)
	for _, f := range fs {
		for _, fn := range f.Names() {
			if fn == n {
				return f
			}
		}
	}
	return nil
}

func isFlag(fs []cli.Flag, a string) bool { return lookupFlag(fs, a) != nil }

func takesValue(fs []cli.Flag, a string) bool {
	f := lookupFlag(fs, a)
	if f == nil {
		return false
	}
	if _, ok := f.(*cli.BoolFlag); ok {
		return false
	}
	return true
}
