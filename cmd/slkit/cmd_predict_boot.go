package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/initramfs/uki"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/tpm"
)

// bootPredictFlags are the flags of a prediction of the next boot from
// the machine's own firmware log (`predict --firmware-log`, `update
// prepare --firmware-log`).
func bootPredictFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "firmware-log", Usage: "predict the next firmware boot from this boot's firmware event log `FILE` (/sys/kernel/security/tpm0/binary_bios_measurements)"},
		&cli.StringFlag{Name: "uki", Usage: "with --firmware-log: the next boot starts this UKI `FILE` (default: the image booted now)"},
		&cli.StringFlag{Name: "efivars", Usage: "with --firmware-log: read variables the log does not show (a Boot#### a new BootOrder names) from this efivarfs `DIR`"},
	}
}

// bootPrediction predicts the next boot from the flags
// (nextboot.PredictFiles): the firmware log, the UKI, and the pending
// entries of the journal at jpath (state spath, verified with pub when
// given; "" for none).
func bootPrediction(c *cli.Context, jpath, spath string, pub []byte) (*nextboot.Prediction, error) {
	f := nextboot.Files{FirmwareLog: c.String("firmware-log"), Journal: jpath, State: spath, Pub: pub, EFIVars: c.String("efivars")}
	if p := c.String("uki"); p != "" {
		f.Image = func(banks []tpm.Alg) (*nextboot.Image, error) { return uki.MeasureFile(p, banks) }
	}
	return nextboot.PredictFiles(f)
}

// predictBoot is `slkit predict --firmware-log`.
func predictBoot(e *env, c *cli.Context) error {
	for _, f := range []string{"kernel", "initrd", "cmdline", "policy", "start", "drtm", "bank"} {
		if c.IsSet(f) {
			return usage(fmt.Errorf("predict: --firmware-log predicts the firmware's measurements; --%s belongs to a launch prediction", f))
		}
	}
	if (c.IsSet("state") || c.IsSet("pub")) && !c.IsSet("journal") {
		return usage(errors.New("predict: --state and --pub go with --journal"))
	}
	jpath, spath := c.String("journal"), ""
	if jpath != "" {
		spath = journal.StatePath(jpath, c.String("state"))
	}
	var pub []byte
	if p := c.String("pub"); p != "" {
		k, err := loadJournalKey(e, p, journal.ParsePublicKey)
		if err != nil {
			return err
		}
		pub = k
	}
	if _, err := os.Stat(jpath); jpath != "" && err != nil {
		return inputErr(jpath, errors.Unwrap(err))
	}
	p, err := bootPrediction(c, jpath, spath, pub)
	if err != nil {
		return err
	}
	return e.report(c, p, p.Text(c.String("firmware-log")))
}
