package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

// nextLaunch turns `update prepare`'s prediction flags into Prepare's
// options, and says where the next launch's values come from (no options:
// the current ones). fw is the firmware prediction of --firmware-log (nil
// without one).
func nextLaunch(c *cli.Context, via update.Via, fw *nextboot.Prediction) ([]update.Option, string, error) {
	if c.IsSet("next-pcrs") {
		for _, f := range []string{"next-policy", "relaunch-policy", "start", "next-root", "relaunch-root"} {
			if c.IsSet(f) {
				return nil, "", usage(fmt.Errorf("update prepare: --next-pcrs and --%s exclude each other", f))
			}
		}
		x, err := fsys.ReadInput(tpm.PCRValuesInput, c.String("next-pcrs"), tpm.ParseExpected)
		return []update.Option{update.WithNext(x)}, "the values in " + c.String("next-pcrs"), err
	}
	switch {
	case c.IsSet("relaunch-policy") && via != update.ViaKexec:
		return nil, "", usage(errors.New("update prepare: --relaunch-policy is for --via kexec"))
	case c.IsSet("start") && via != update.ViaReboot:
		return nil, "", usage(errors.New("update prepare: --start is for --via reboot (a kexec starts from the current values)"))
	}
	var launches []update.Launch
	var what []string
	for _, kind := range []string{"relaunch", "next"} {
		pflag, eflag, rflag := kind+"-policy", kind+"-entry", kind+"-root"
		if err := clikit.OnlyWith(c, pflag, eflag, rflag); err != nil || !c.IsSet(pflag) {
			if err != nil {
				return nil, "", err
			}
			continue
		}
		if err := clikit.NeedFlags(c, "policy-key"); err != nil {
			return nil, "", err
		}
		signed, pub, err := signedPolicy(c, pflag)
		if err != nil {
			return nil, "", err
		}
		ln := update.Launch{Signed: signed, Pub: pub, Entry: c.String(eflag), Name: "--" + pflag + " " + c.String(pflag)}
		if c.IsSet(rflag) {
			ln.Images = os.DirFS(c.String(rflag))
		}
		launches = append(launches, ln)
		what = append(what, fmt.Sprintf("%s entry %q", c.String(pflag), c.String(eflag)))
	}
	if len(launches) == 0 {
		return nil, "", nil
	}
	var given *tpm.Expected
	if c.IsSet("start") {
		var err error
		if given, err = fsys.ReadInput(tpm.PCRValuesInput, c.String("start"), tpm.ParseExpected); err != nil {
			return nil, "", err
		}
	}
	start, from, err := update.LaunchStart(via, given, c.String("start"), fw)
	opts := []update.Option{update.WithNextLaunches(launches...)}
	if start != nil {
		opts = append(opts, update.WithStart(start))
	}
	return opts, "predicted for " + strings.Join(what, " then ") + " from " + from, err
}

// signedPolicy reads the signed launch policy of flag and the public key
// of --policy-key it verifies under.
func signedPolicy(c *cli.Context, flag string) ([]byte, ed25519.PublicKey, error) {
	signed, err := policy.SignedInput.Read(c.String(flag))
	if err != nil {
		return nil, nil, err
	}
	pub, err := fsys.ReadInput(policy.KeyInput, c.String("policy-key"), policy.ParsePublicKey)
	return signed, pub, err
}

// firmwarePrediction predicts the next boot's firmware PCRs for `update
// prepare --firmware-log` (nil without the flag).
func firmwarePrediction(c *cli.Context, via update.Via, jp, sp string, pub []byte) (*nextboot.Prediction, error) {
	if err := clikit.OnlyWith(c, "firmware-log", "uki", "efivars"); err != nil || !c.IsSet("firmware-log") {
		return nil, err
	}
	if via != update.ViaReboot {
		return nil, usage(errors.New("update prepare: --firmware-log predicts a firmware reboot (--via reboot)"))
	}
	return bootPrediction(c, jp, sp, pub)
}
