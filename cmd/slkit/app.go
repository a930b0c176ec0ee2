package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/tpm"
)

// env is everything a command touches outside its arguments, so tests can
// run the whole CLI in-process against a simulator.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// stdoutIsTerminal reports whether stdout is a terminal (secrets are
	// never written to one).
	stdoutIsTerminal func() bool
	// tpmOptions are passed to tpm.Open (tests register the simulator).
	tpmOptions []tpm.OpenOption
	// kernelCmdline returns the running kernel's command line (/proc/cmdline).
	kernelCmdline func() string
	// readPassword prompts on the terminal without echo; ok is false when
	// stdin is not a terminal.
	readPassword func(prompt string) (pin []byte, ok bool, err error)
	// newSystem is the machine that `efi mount` mounts on (nil:
	// pid1.NewSystem; tests pass a fake).
	newSystem func() pid1.System
}

// system returns the machine's pid1.System.
func (e *env) system() pid1.System {
	if e.newSystem != nil {
		return e.newSystem()
	}
	return pid1.NewSystem()
}

func newEnv() *env {
	return &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		stdoutIsTerminal: func() bool { return term.IsTerminal(int(os.Stdout.Fd())) },
		kernelCmdline: func() string {
			b, _ := os.ReadFile("/proc/cmdline")
			return string(b)
		},
		readPassword: func(prompt string) ([]byte, bool, error) {
			fd := int(os.Stdin.Fd())
			if !term.IsTerminal(fd) {
				return nil, false, nil
			}
			fmt.Fprint(os.Stderr, prompt)
			pin, err := term.ReadPassword(fd)
			fmt.Fprintln(os.Stderr)
			return pin, true, err
		},
	}
}

func newApp(e *env) *cli.App {
	app := &cli.App{
		Name:  "slkit",
		Usage: "measured and secure launch toolkit (TPM, DRTM, kexec, deferred EFI commits)",
		Description: "slkit measures the next kernel, initrd and command line into the TPM, stages a\n" +
			"dynamic launch, hands over with kexec, and seals secrets around deferred EFI\n" +
			"variable commits.\n\n" + clikit.ExitCodesHelp,
		Reader:    e.stdin,
		Writer:    e.stdout,
		ErrWriter: e.stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tpm", Value: tpm.DefaultSpec, EnvVars: []string{"SLKIT_TPM"},
				Usage: "TPM to use: device[:PATH], swtpm:tcp:HOST:PORT or swtpm:unix:PATH"},
		},
		HideHelpCommand: true,
		// Repeat a flag to give several values: a value is never split at
		// commas (--then "unseal S --pcrs 8,9", paths with commas).
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usage(err)
		},
	}
	app.Commands = commands(e)
	for _, c := range app.Commands {
		checkFlags(c)
	}
	return app
}

// commands lists every command group; each lives in its own cmd_*.go file.
func commands(e *env) []*cli.Command {
	var cs []*cli.Command
	cs = append(cs, pcrCommand(e))
	cs = append(cs, eventlogCommand(e))
	cs = append(cs, launchCommands(e)...)
	cs = append(cs, sealCommands(e)...)
	cs = append(cs, drtmCommand(e))
	cs = append(cs, attestCommand(e))
	cs = append(cs, initCommand(e))
	cs = append(cs, efiCommand(e))
	cs = append(cs, updateCommand(e))
	cs = append(cs, anchorCommand(e))
	return append(cs, hostCommands(e)...)
}

// run executes the CLI and returns the process exit code. Errors are
// printed as exactly one line on stderr.
func run(args []string, e *env) int {
	return clikit.Run(newApp(e), args, e.stderr)
}

// openTPM opens the TPM named by the global --tpm flag.
func (e *env) openTPM(c *cli.Context) (*tpm.Conn, error) {
	return tpm.Open(c.String("tpm"), e.tpmOptions...)
}

// withTPM runs f on the TPM named by --tpm and closes it.
func (e *env) withTPM(c *cli.Context, f func(t *tpm.Conn) error) error {
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	return f(t)
}

// texter is a result with a text form (its JSON form is the value).
type texter interface{ Text() string }

// reportTPM reports (as report does) what f computes on the TPM named by
// --tpm.
func reportTPM[R texter](e *env, c *cli.Context, f func(*tpm.Conn) (R, error)) error {
	return e.withTPM(c, func(t *tpm.Conn) error {
		r, err := f(t)
		if err != nil {
			return err
		}
		return e.report(c, r, r.Text())
	})
}

// writeJSON prints v as indented JSON followed by a newline.
func (e *env) writeJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// report prints v as indented JSON with --json, else text.
func (e *env) report(c *cli.Context, v any, text string) error {
	if c.Bool("json") {
		return e.writeJSON(v)
	}
	_, err := io.WriteString(e.stdout, text)
	return err
}

// verdict reports v (as report does) and then returns the verdict err:
// a refusal is reported in full before its one-line error.
func (e *env) verdict(c *cli.Context, v any, text string, err error) error {
	if rerr := e.report(c, v, text); rerr != nil {
		return rerr
	}
	return err
}

// jsonFlag is the --json flag every reporting command has.
var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}
