package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

// nextInputs are the prediction flags' files, read before the TPM is
// opened.
type nextInputs struct {
	values   *tpm.Expected // --next-pcrs
	launches []update.Launch
	what     []string
	start    *tpm.Expected // --start
}

// readNext reads the files of the prediction flags.
func readNext(c *cli.Context, via update.Via) (*nextInputs, error) {
	in := &nextInputs{}
	if c.IsSet("next-pcrs") {
		for _, f := range []string{"next-policy", "relaunch-policy", "start"} {
			if c.IsSet(f) {
				return nil, usageError{fmt.Errorf("update prepare: --next-pcrs and --%s exclude each other", f)}
			}
		}
		x, err := readExpected(c.String("next-pcrs"))
		in.values = x
		return in, err
	}
	if c.IsSet("relaunch-policy") && via != update.ViaKexec {
		return nil, usageError{errors.New("update prepare: --relaunch-policy is for --via kexec")}
	}
	if c.IsSet("start") && via != update.ViaReboot {
		return nil, usageError{errors.New("update prepare: --start is for --via reboot (a kexec starts from the current values)")}
	}
	add := func(pflag, eflag string) error {
		if !c.IsSet(pflag) {
			if c.IsSet(eflag) {
				return usageError{fmt.Errorf("update prepare: --%s needs --%s", eflag, pflag)}
			}
			return nil
		}
		if err := needFlags(c, "policy-key"); err != nil {
			return err
		}
		signed, err := readInput(c.String(pflag), inSigned)
		if err != nil {
			return err
		}
		pub, err := loadKey(c.String("policy-key"), policy.ParsePublicKey)
		if err != nil {
			return err
		}
		in.launches = append(in.launches, update.Launch{Signed: signed, Pub: pub, Entry: c.String(eflag)})
		in.what = append(in.what, fmt.Sprintf("%s entry %q", c.String(pflag), c.String(eflag)))
		return nil
	}
	if err := add("relaunch-policy", "relaunch-entry"); err != nil {
		return nil, err
	}
	if err := add("next-policy", "next-entry"); err != nil {
		return nil, err
	}
	if c.IsSet("start") && len(in.launches) > 0 {
		x, err := readExpected(c.String("start"))
		if err != nil {
			return nil, err
		}
		in.start = x
	}
	return in, nil
}

// nextLaunch turns the prediction inputs into the values the next launch
// extends PCRs to (nil: keep the current values).
func nextLaunch(c *cli.Context, t tpm.TPMSender, via update.Via, in *nextInputs) (*tpm.Expected, string, error) {
	if in.values != nil {
		return in.values, "the values in " + c.String("next-pcrs"), nil
	}
	if len(in.launches) == 0 {
		return nil, "", nil
	}
	var start *tpm.PCRs
	from := "reset values"
	switch {
	case via == update.ViaKexec:
		// No TPM reset on the way: the launches extend the current values.
		cur, err := tpm.ReadPCRs(t, tpm.Selection{tpm.SHA256: {8, 9}})
		if err != nil {
			return nil, "", err
		}
		start, from = cur, "the current PCR values"
	case in.start != nil:
		start, from = &in.start.PCRs, c.String("start")
	}
	x, err := update.PredictLaunches(start, in.launches...)
	if err != nil {
		return nil, "", err
	}
	return x, "predicted for " + strings.Join(in.what, " then ") + " from " + from, nil
}

// readExpected reads a file of PCR values (and their events).
func readExpected(name string) (*tpm.Expected, error) {
	b, err := readInput(name, inPCRValues)
	if err != nil {
		return nil, err
	}
	var x tpm.Expected
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, inputError{name, err}
	}
	return &x, nil
}
