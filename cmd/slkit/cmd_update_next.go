package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/update"
)

// nextLaunch turns `update prepare`'s prediction flags into Prepare's
// options (update.NextSpec), and says where the next launch's values come
// from (no options: the current ones). fw is the firmware prediction of
// --firmware-log (nil without one).
func nextLaunch(c *cli.Context, via update.Via, fw *nextboot.Prediction) ([]update.Option, string, error) {
	spec := func(kind string) update.LaunchSpec {
		l := update.LaunchSpec{Policy: c.String(kind + "-policy"), Root: c.String(kind + "-root")}
		if c.IsSet(kind + "-entry") {
			entry := c.String(kind + "-entry")
			l.Entry = &entry
		}
		return l
	}
	return update.NextSpec{Via: via, NextPCRs: c.String("next-pcrs"), Relaunch: spec("relaunch"), Next: spec("next"),
		PolicyKey: c.String("policy-key"), Start: c.String("start"), Firmware: fw}.Options()
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
