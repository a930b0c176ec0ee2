// Command slkit-rig boots a kernel and initramfs, or a UKI from an ESP, in
// QEMU with swtpm: the test rig's command line (package rig/qemu does the
// work). It is a separate binary from slkit, so that no slkit build, host
// or image, links the rig.
package main

import (
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
)

func main() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) }

// run executes the command and returns its exit code; an error is one
// line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:            "slkit-rig",
		Usage:           "boot a kernel and initramfs, or a UKI, in QEMU with swtpm (slkit's test rig)",
		Description:     clikit.ExitCodesHelp,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return clikit.UsageError{Err: err}
		},
		Commands: []*cli.Command{runCommand(stdout, stderr)},
	}
	for _, c := range app.Commands {
		clikit.Check(c, map[string]bool{"kernel": true, "initrd": true, "esp": true, "vars": true, "tpm-state": true, "disk": true, "dir": true})
	}
	return clikit.Run(app, args, stderr)
}
