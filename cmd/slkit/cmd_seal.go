package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

var pinFlags = []cli.Flag{
	&cli.BoolFlag{Name: "pin", Usage: "require/ask for a PIN (read from the terminal without echo, or the first line of stdin)"},
	&cli.StringFlag{Name: "pin-file", Usage: "read the PIN from FILE (implies --pin)"},
}

func sealCommands(e *env) []*cli.Command {
	return []*cli.Command{
		clikit.Cmd("seal", "seal a secret (<= 128 bytes) to PCR values: current ones or predicted ones (--pcr-values)", e.seal, append([]cli.Flag{
			&cli.StringFlag{Name: "pcrs", Required: true, Usage: "PCRs to seal to, e.g. 8,9 or 17,18"},
			&cli.StringFlag{Name: "pcr-values", Usage: "seal to these values (JSON of `slkit predict --json` or `pcr read --json`) instead of the current ones"},
			&cli.StringFlag{Name: "bank", Value: "sha256", Usage: "PCR bank of the policy"},
			&cli.StringFlag{Name: "in", Required: true, Usage: "secret file, or - for stdin"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "sealed file to write"},
			&cli.StringFlag{Name: "eventlog", Usage: "when sealing to current values: event log whose events for these PCRs are recorded, to explain refusals"},
		}, pinFlags...)...),
		clikit.ArgsCmd("unseal", "SEALED", "unseal a secret; a refusal names the PCR and event that differ (exit 3)", clikit.NArgs(1, 1, "one SEALED file", e.unseal), append([]cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the secret to FILE (mode 0600); without it the secret goes to stdout, never to a terminal"},
			&cli.BoolFlag{Name: "fingerprint", Usage: "print only sha256:<hex> of the secret (safe on a terminal); with --out, also write the secret"},
			&cli.StringSliceFlag{Name: "eventlog", Usage: "current event log(s) used to explain a refusal (default: the firmware log, if readable)"},
			&cli.StringFlag{Name: "expect-fingerprint", Usage: "refuse (exit 3) unless the secret's fingerprint is `sha256:HEX` (pin it in the measured image that unseals a handed-over file)"},
			&cli.BoolFlag{Name: "json", Usage: "print what was unsealed, never the secret: {\"file\",\"object\":\"main\"|\"update\",\"main_refusal\",\"bank\",\"pcrs\",\"pin\",\"out\",\"fingerprint\"} (the secret goes only to --out)"},
		}, pinFlags...)...),
		clikit.Group("srk", "storage root key",
			clikit.Cmd("provision", "make the standard ECC P-256 SRK persistent at 0x81000001 (unseal then needs 6 TPM commands)", e.srkProvision,
				&cli.BoolFlag{Name: "json", Usage: "print {\"handle\":\"0x81000001\",\"name\":HEX}"})),
	}
}

func (e *env) srkProvision(c *cli.Context) error {
	return e.withTPM(c, func(t *tpm.Conn) error {
		srk, err := tpm.ProvisionSRK(t)
		if err != nil {
			return err
		}
		r := srk.Report()
		return e.report(c, r, r.Text())
	})
}

// parseSealTarget reads --bank, the PCR list flag pcrsFlag (for example
// "8,9" in its error) and --pcr-values (tpm.SealTargetSpec).
func parseSealTarget(c *cli.Context, pcrsFlag, example string) (*tpm.SealTarget, error) {
	s := tpm.SealTargetSpec{Bank: c.String("bank"), PCRs: c.String(pcrsFlag), PCRsFlag: pcrsFlag, Example: example, ValuesFile: c.String("pcr-values")}
	return s.Target()
}

func (e *env) seal(c *cli.Context) error {
	st, err := parseSealTarget(c, "pcrs", "8,9")
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := fsys.CheckOutput(out); err != nil {
		return err
	}
	secret, err := e.readArg(c.String("in"), tpm.SecretInput)
	if err != nil {
		return err
	}
	pin, err := e.pinSource(c, c.String("in") == "-").Read()
	if err != nil {
		return err
	}
	var events []tpm.Event
	if f := c.String("eventlog"); f != "" {
		if st.Values != nil {
			return usage(errors.New("--eventlog is for sealing to current values; --pcr-values carries its own events"))
		}
		l, err := fsys.ReadInput(tpm.EventLogInput, f, tpm.ParseEventLog)
		if err != nil {
			return err
		}
		events = l.Events
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		pol, events, err := st.Policy(t, events)
		if err != nil {
			return err
		}
		s, err := tpm.Seal(t, secret, pol, tpm.WithExpectedEvents(events), tpm.WithPIN(pin))
		if err != nil {
			return err
		}
		b, err := s.Marshal()
		if err == nil {
			err = e.writeOutput(out, b, 0o600, false)
		}
		if err == nil {
			fmt.Fprintf(e.stderr, "sealed to %s -> %s\n", pol, out)
		}
		return err
	})
}

func (e *env) unseal(c *cli.Context) error {
	name := c.Args().First()
	s, err := tpm.ReadSealedFile(name)
	if err != nil {
		return err
	}
	var pinned []byte
	if c.IsSet("expect-fingerprint") {
		if pinned, err = tpm.ParseFingerprint(c.String("expect-fingerprint")); err != nil {
			return usage(fmt.Errorf("--expect-fingerprint: %w", err))
		}
	}
	out, fp := c.String("out"), c.Bool("fingerprint")
	switch {
	case out == "-" && (fp || c.Bool("json")):
		return usage(errors.New("--out - and --fingerprint or --json would both print to standard output"))
	case (out == "" && !fp && !c.Bool("json") || out == "-") && e.stdoutIsTerminal():
		return usage(errors.New("refusing to write the secret to a terminal: use --out FILE or a pipe"))
	case out != "":
		if err := fsys.CheckOutput(out); err != nil {
			return err
		}
	}
	pin, err := e.pinSource(c, false).Need(s.Policy.PIN, name, name+" was sealed without a PIN")
	if err != nil {
		return err
	}
	logs, problem, err := tpm.ExplainingLogs(c.StringSlice("eventlog"))
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		var info tpm.UnsealInfo
		secret, err := tpm.Unseal(t, s, tpm.WithUnsealPIN(pin), tpm.WithEventLogs(logs...), tpm.WithLogUnavailable(problem), tpm.WithUnsealInfo(&info))
		if err != nil {
			return tpm.SealedFileError(name, err)
		}
		defer clear(secret)
		if pinned != nil {
			if err := tpm.CheckFingerprint(secret, pinned); err != nil {
				return inputErr(name, err)
			}
		}
		if out != "" {
			if err := e.writeOutput(out, secret, 0o600, true); err != nil {
				return err
			}
		}
		rep := tpm.NewUnsealReport(name, s, &info)
		if rep.Out = out; fp {
			rep.Fingerprint = tpm.Fingerprint(secret)
		}
		switch {
		case c.Bool("json"):
			return e.writeJSON(rep)
		case fp:
			_, err = fmt.Fprintln(e.stdout, rep.Fingerprint)
		case out == "":
			_, err = e.stdout.Write(secret)
		}
		return err
	})
}

// pinSource is where --pin-file and --pin read the PIN from (the
// terminal, else stdin unless stdinTaken: --in - reads it).
func (e *env) pinSource(c *cli.Context, stdinTaken bool) *tpm.PINSource {
	return &tpm.PINSource{File: c.String("pin-file"), Ask: c.Bool("pin"), Terminal: e.readPassword, Stdin: e.stdin, StdinTaken: stdinTaken}
}

// sealedInputs are the inputs of the commands that work on several sealed
// files (update prepare, finish and status).
type sealedInputs struct {
	files []update.File
	pin   []byte
	logs  []*tpm.EventLog
	// logProblem says why the event log is unusable ("" when it is not).
	logProblem string
}

// readSealedInputs reads every --sealed file (update.ReadFiles; each a
// path the atomic writer can replace, when the command rewrites them:
// replace), the one PIN they need, and, with logs, the current event logs
// (--eventlog).
func (e *env) readSealedInputs(c *cli.Context, replace, logs bool) (*sealedInputs, error) {
	files, need, err := update.ReadFiles(c.StringSlice("sealed"), replace)
	if err != nil {
		return nil, err
	}
	in := &sealedInputs{files: files}
	if in.pin, err = e.pinSource(c, false).Need(need, "a sealed file", "no sealed file requires a PIN"); err != nil || !logs {
		return in, err
	}
	in.logs, in.logProblem, err = tpm.ExplainingLogs(c.StringSlice("eventlog"))
	return in, err
}
