package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// launchCommands are the measured-launch commands: predict, measure,
// launch and policy.
func launchCommands(e *env) []*cli.Command {
	return []*cli.Command{predictCommand(e), measureCommand(e), launchCommand(e), policyCommand(e)}
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
	return &cli.Command{
		Name:  "predict",
		Usage: "compute the PCR values and event log a launch will produce (no TPM needed)",
		Description: "The JSON output (--json) is what `slkit seal --pcr-values` reads to seal a secret\n" +
			"for the next launch: {\"banks\":{...},\"events\":[...]}. See launch/README.md.",
		Flags: append(append(entryFlags(), bootPredictFlags()...),
			&cli.StringFlag{Name: "start", Usage: "start from the PCR values in `FILE` (JSON as `slkit pcr read --json` prints; default: reset values)"},
			&cli.StringSliceFlag{Name: "bank", Usage: "bank to predict (repeatable; default: the banks of --start, else sha1, sha256, sha384, sha512)"},
			&cli.StringFlag{Name: "drtm", Usage: "also predict PCR17 and PCR18 of a dynamic launch with `BACKEND` (emulated: slkit launch --drtm emulated)"},
			jsonFlag,
			&cli.StringFlag{Name: "journal", Usage: "with --firmware-log: the variables this journal `FILE` will commit"},
			&cli.StringFlag{Name: "state", Usage: "with --journal: its state `FILE` (default: the journal's name + .state)"},
			&cli.StringFlag{Name: "pub", Usage: "with --journal: verify it with this public key `FILE`"},
		),
		Action: func(c *cli.Context) error { return predict(e, c) },
	}
}

// loadEntry opens the entry's files (--kernel, --initrd, --cmdline, and,
// for a command that has them, --policy and --profile; without --profile
// the default profile); the caller closes them with done.
func loadEntry(c *cli.Context, flags ...string) (ent *launch.Entry, prof *launch.Profile, done func(), err error) {
	if err := needFlags(c, flags...); err != nil {
		return nil, nil, nil, err
	}
	var files []io.Closer
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	name := c.String("profile")
	if name == "" {
		name = launch.ProfileMeasured
	}
	if prof, err = launch.ProfileByName(name); err != nil {
		return nil, nil, nil, usageError{err}
	}
	img := func(name string) (*launch.Image, error) {
		f, err := fsys.OpenInput(name)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		st, err := f.Stat()
		if err != nil {
			return nil, inputErr(name, err)
		}
		return &launch.Image{R: f, Size: st.Size(), Name: name}, nil
	}
	k, err := img(c.String("kernel"))
	if err != nil {
		return nil, nil, nil, err
	}
	ent = &launch.Entry{Kernel: *k, Cmdline: c.String("cmdline")}
	if p := c.String("initrd"); p != "" {
		if ent.Initrd, err = img(p); err != nil {
			return nil, nil, nil, err
		}
	}
	if p := c.String("policy"); p != "" {
		if ent.Policy, err = inSigned.Read(p); err != nil {
			return nil, nil, nil, err
		}
		// Its exact bytes are measured; they must be a signed policy.
		if _, err := policy.ParseEnvelope(ent.Policy); err != nil {
			return nil, nil, nil, inputErr(p, err)
		}
	}
	if p := c.String("policy-key"); p != "" {
		pub, err := fsys.ReadInput(inKey, p, policy.ParsePublicKey)
		if err != nil {
			return nil, nil, nil, err
		}
		if ent.PolicyKey, err = launch.PolicyKeyBytes(pub); err != nil {
			return nil, nil, nil, err
		}
	}
	if err := ent.Validate(); err != nil {
		return nil, nil, nil, err
	}
	return ent, prof, closeAll, nil
}

// bankFlags are the banks --bank names (tpm.ParseBanks; nil when none
// is given).
func bankFlags(c *cli.Context) ([]tpm.Alg, error) {
	banks, err := tpm.ParseBanks(c.StringSlice("bank"))
	if err != nil {
		return nil, usageError{fmt.Errorf("--bank: %w", err)}
	}
	return banks, nil
}

func predict(e *env, c *cli.Context) error {
	if c.IsSet("firmware-log") {
		return predictBoot(e, c)
	}
	for _, f := range []string{"uki", "journal", "state", "pub", "efivars"} {
		if c.IsSet(f) {
			return usageError{fmt.Errorf("predict: --%s needs --firmware-log", f)}
		}
	}
	banks, err := bankFlags(c)
	if err != nil {
		return err
	}
	var opts []launch.PredictOption
	if name := c.String("start"); name != "" {
		b, err := inPCRValues.Read(name)
		if err != nil {
			return err
		}
		var start tpm.PCRs
		if err := json.Unmarshal(b, &start); err != nil {
			return inputErr(name, err)
		}
		if banks == nil {
			banks = start.Algs()
		}
		opts = append(opts, launch.WithStart(&start))
	}
	if banks == nil {
		banks = tpm.CommonBanks
	}
	predictFn := launch.Predict
	switch d := c.String("drtm"); d {
	case "":
	case "emulated":
		predictFn = launch.PredictEmulatedDRTM
	default:
		return usageError{fmt.Errorf("predict: --drtm %q: want emulated (the hardware PCRs depend on the DCE: slkit drtm stage --backend hardware)", d)}
	}
	ent, prof, done, err := loadEntry(c, "kernel", "cmdline")
	if err != nil {
		return err
	}
	defer done()
	p, err := predictFn(ent, prof, banks, opts...)
	if err != nil {
		if c.IsSet("drtm") {
			err = flagInputError(c, "kernel", err)
		}
		if name := c.String("start"); name != "" && errors.Is(err, launch.ErrStart) {
			return inputErr(name, err)
		}
		return err
	}
	return e.report(c, p, p.Text(prof.Name))
}
