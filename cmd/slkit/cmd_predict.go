package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/tpm"
)

// launchCommands are the measured-launch commands: predict, measure,
// launch and policy.
func launchCommands(e *env) []*cli.Command {
	measure := clikit.Described("--json prints {\"banks\":[ALG...],\"events\":[EVENT...],\"log\":FILE,\"log_events\":N}: the events\n"+
		"extended (as `eventlog show --json` writes events) and the log's event count.",
		clikit.Cmd("measure", "measure a boot entry into the TPM (one PCR_Extend per event, all banks) and append to the event log", e.measure,
			append(entryFlags(),
				&cli.StringFlag{Name: "log", Value: launch.DefaultLogPath, Usage: "pre-launch event log `FILE` to append to (created when missing)"},
				jsonFlag)...))
	return []*cli.Command{predictCommand(e), measure, launchCommand(e), policyCommand(e)}
}

// entryFlags are the flags that describe a boot entry.
func entryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "kernel", Usage: "kernel image `FILE` (required)"},
		&cli.StringFlag{Name: "initrd", Usage: "initrd `FILE` (default: none)"},
		&cli.StringFlag{Name: "cmdline", Usage: "kernel command line (required; UTF-8, may be \"\")"},
		&cli.StringFlag{Name: "policy", Usage: "signed launch policy `FILE` to measure (its exact bytes)"},
		&cli.StringFlag{Name: "policy-key", Usage: "the public key `FILE` the policy verifies under (profile measured-v2 measures it)"},
		&cli.StringFlag{Name: "profile", Value: launch.ProfileMeasured, Usage: "measurement profile"},
	}
}

func predictCommand(e *env) *cli.Command {
	return clikit.Described("The JSON output (--json) is what `slkit seal --pcr-values` reads to seal a secret\n"+
		"for the next launch: {\"banks\":{...},\"events\":[...]}. See launch/README.md.",
		clikit.Cmd("predict", "compute the PCR values and event log a launch will produce (no TPM needed)", e.predict, append(append(entryFlags(), bootPredictFlags()...),
			&cli.StringFlag{Name: "start", Usage: "start from the PCR values in `FILE` (JSON as `slkit pcr read --json` prints; default: reset values)"},
			&cli.StringSliceFlag{Name: "bank", Usage: "bank to predict (repeatable; default: the banks of --start, else sha1, sha256, sha384, sha512)"},
			&cli.StringFlag{Name: "drtm", Usage: "also predict PCR17 and PCR18 of a dynamic launch with `BACKEND` (emulated: slkit launch --drtm emulated)"},
			jsonFlag,
			&cli.StringFlag{Name: "journal", Usage: "with --firmware-log: the variables this journal `FILE` will commit"},
			&cli.StringFlag{Name: "state", Usage: "with --journal: its state `FILE` (default: the journal's name + .state)"},
			&cli.StringFlag{Name: "pub", Usage: "with --journal: verify it with this public key `FILE`"})...))
}

// loadEntry opens the entry's files (launch.EntryRequest of --kernel,
// --initrd, --cmdline, and, for a command that has them, --policy,
// --policy-key and --profile); flags must be given. The caller closes the
// images with done.
func loadEntry(c *cli.Context, flags ...string) (*launch.Entry, *launch.Profile, func(), error) {
	if err := clikit.NeedFlags(c, flags...); err != nil {
		return nil, nil, nil, err
	}
	return launch.EntryRequest{Kernel: c.String("kernel"), Initrd: c.String("initrd"), Cmdline: c.String("cmdline"),
		Policy: c.String("policy"), PolicyKey: c.String("policy-key"), Profile: c.String("profile")}.Open()
}

// bankFlags are the banks --bank names (tpm.ParseBanks; nil when none
// is given).
func bankFlags(c *cli.Context) ([]tpm.Alg, error) {
	banks, err := tpm.ParseBanks(c.StringSlice("bank"))
	if err != nil {
		return nil, usage(fmt.Errorf("--bank: %w", err))
	}
	return banks, nil
}

func (e *env) predict(c *cli.Context) error {
	if c.IsSet("firmware-log") {
		return predictBoot(e, c)
	}
	if err := clikit.OnlyWith(c, "firmware-log", "uki", "journal", "state", "pub", "efivars"); err != nil {
		return err
	}
	banks, err := bankFlags(c)
	if err != nil {
		return err
	}
	pr, err := launch.PredictRequest{Kernel: c.String("kernel"), Banks: banks, Start: c.String("start"), DRTM: c.String("drtm")}.Predictor()
	if err != nil {
		return err
	}
	ent, prof, done, err := loadEntry(c, "kernel", "cmdline")
	if err != nil {
		return err
	}
	defer done()
	p, err := pr.Predict(ent, prof)
	if err != nil {
		return err
	}
	return e.report(c, p, p.Text(prof.Name))
}

func (e *env) measure(c *cli.Context) error {
	ent, prof, done, err := loadEntry(c, "kernel", "cmdline")
	if err != nil {
		return err
	}
	defer done()
	if err := tpm.EventLogInput.Check(c.String("log"), true); err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		m, err := launch.Measure(t, ent, prof, launch.WithLogFile(c.String("log")))
		if m == nil {
			return err
		}
		return e.verdict(c, m.Report(), m.Text(err == nil), err)
	})
}
