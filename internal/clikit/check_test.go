package clikit

import (
	"errors"
	"io"
	"testing"

	"github.com/urfave/cli/v2"
)

// run runs a one-command app with Check installed and returns the
// action's count of runs and the error.
func run(c *cli.Command, args ...string) (int, error) {
	runs := 0
	action := c.Action
	c.Action = func(ctx *cli.Context) error {
		runs++
		if action != nil {
			return action(ctx)
		}
		return nil
	}
	Check(c, map[string]bool{"in": true, "add": true})
	app := &cli.App{Commands: []*cli.Command{c}, Writer: io.Discard, ErrWriter: io.Discard, ExitErrHandler: func(*cli.Context, error) {}}
	err := app.Run(Interspersed(app, append([]string{"x", c.Name}, args...)))
	return runs, err
}

// TestCheck: each refusal is a UsageError with its one line, the empty
// path before the required flag, both before the action runs.
func TestCheck(t *testing.T) {
	cmd := func() *cli.Command {
		return ArgsCmd("seal", "FILE", "", NArgs(1, 1, "one FILE", func(c *cli.Context) error { return OnlyWith(c, "in", "mode") }),
			&cli.StringFlag{Name: "in", Required: true}, &cli.StringFlag{Name: "mode"},
			&cli.StringSliceFlag{Name: "add"}, &cli.IntFlag{Name: "n"})
	}
	for _, c := range []struct {
		args []string
		want string
		runs int
	}{
		{[]string{"f"}, "seal: --in is required", 0},
		{[]string{"f", "--in", ""}, "--in: empty path", 0},
		{[]string{"f", "--in", "x", "--add", "a", "--add", ""}, "--add: empty path", 0},
		{[]string{"--in", "x"}, "seal: want one FILE", 1},
		{[]string{"f", "g", "--in", "x"}, "seal: want one FILE", 1},
		{[]string{"f", "--mode", "m", "--in", "x"}, "", 1},
		{[]string{"f", "--n", "nan", "--in", "x"}, `invalid value "nan" for flag -n: parse error`, 0},
	} {
		runs, err := run(cmd(), c.args...)
		var u UsageError
		if c.want == "" && err != nil || c.want != "" && (!errors.As(err, &u) || err.Error() != c.want) || runs != c.runs {
			t.Errorf("%q: %v (%d runs), want %q (%d runs)", c.args, err, runs, c.want, c.runs)
		}
	}
	if _, err := run(ArgsCmd("seal", "", "", NoArgs(func(c *cli.Context) error { return OnlyWith(c, "in", "mode") }),
		&cli.StringFlag{Name: "in"}, &cli.StringFlag{Name: "mode"}), "--mode", "m"); err == nil || err.Error() != "seal: --mode needs --in" {
		t.Errorf("OnlyWith: %v", err)
	}
	n := 0
	if _, err := run(Cmd("x", "", func(c *cli.Context) error { n = CountSet(c, "a", "b", "c"); return nil },
		&cli.BoolFlag{Name: "a"}, &cli.StringFlag{Name: "b"}, &cli.StringFlag{Name: "c"}), "--a", "--c", "v"); err != nil || n != 2 {
		t.Errorf("CountSet = %d, %v", n, err)
	}
}
