package clikit

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

func TestExitCode(t *testing.T) {
	refused := errkind.New(errkind.Verify, "refused")
	bad := errkind.New(errkind.Input, "bad")
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{UsageError{errors.New("x")}, 1},
		{fmt.Errorf("wrapped: %w", bad), 1},
		{&fsys.InputError{Path: "f", Err: errors.New("odd")}, 1},
		{fmt.Errorf("a: %w", refused), 3},
		// A refusal outranks an input error in the same tree.
		{errors.Join(bad, refused), 3},
		{&fsys.InputError{Path: "f", Err: refused}, 3},
		{errkind.New(errkind.IO, "tpm"), 2},
		{errors.New("no kind"), 2},
	} {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestRunPrintsOneLine(t *testing.T) {
	app := &cli.App{Name: "tool", ExitErrHandler: func(*cli.Context, error) {},
		Action: func(*cli.Context) error { return errkind.New(errkind.Verify, "first\n  second\n") }}
	var stderr bytes.Buffer
	if code := Run(app, []string{"tool"}, &stderr); code != ExitVerify || stderr.String() != "tool: first second\n" {
		t.Fatalf("Run = %d, stderr %q", code, stderr.String())
	}
}
