package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

// firmwareReport is what `update prepare --firmware-log` predicted.
type firmwareReport struct {
	Log           string         `json:"log"`
	Changed       []int          `json:"changed"`
	Unpredictable map[int]string `json:"unpredictable,omitempty"`
}

// firmwarePrediction predicts the next boot's firmware PCRs for `update
// prepare --firmware-log` (nothing without the flag): the update options
// that seal to them, and the PCR 8/9 start of the next launch's
// prediction (PCR 9 holds the EFI stub's measurements before slkit's).
func firmwarePrediction(c *cli.Context, via update.Via, jp, sp string, pub []byte) (*firmwareReport, []update.Option, *tpm.PCRs, error) {
	if !c.IsSet("firmware-log") {
		for _, f := range []string{"uki", "efivars"} {
			if c.IsSet(f) {
				return nil, nil, nil, usageError{fmt.Errorf("update prepare: --%s needs --firmware-log", f)}
			}
		}
		return nil, nil, nil, nil
	}
	if via != update.ViaReboot {
		return nil, nil, nil, usageError{errors.New("update prepare: --firmware-log predicts a firmware reboot (--via reboot)")}
	}
	p, err := bootPrediction(c, jp, sp, pub)
	if err != nil {
		return nil, nil, nil, err
	}
	x := p.Expected()
	start := tpm.NewPCRs()
	for _, a := range p.Banks {
		start.Set(a, 8, tpm.ZeroDigest(a))
		v, ok := p.PCRs.Get(a, 9)
		if !ok {
			v = tpm.ZeroDigest(a)
		}
		start.Set(a, 9, v)
	}
	if _, bad := p.Unpredictable[9]; bad {
		start = nil
	}
	rep := &firmwareReport{Log: c.String("firmware-log"), Changed: p.Changed, Unpredictable: p.Unpredictable}
	return rep, []update.Option{update.WithFirmware(&x)}, start, nil
}

func printFirmwareReport(e *env, r *firmwareReport) {
	if r == nil {
		return
	}
	changes := "no PCR changes"
	if len(r.Changed) > 0 {
		changes = "PCRs " + tpm.PCRList(r.Changed) + " change"
	}
	fmt.Fprintf(e.stdout, "next boot predicted from %s: %s", r.Log, changes)
	for _, i := range sortedPCRs(r.Unpredictable) {
		fmt.Fprintf(e.stdout, "; PCR %d cannot be predicted: %s", i, r.Unpredictable[i])
	}
	fmt.Fprintln(e.stdout)
}

// describe says where firmware PCR values came from ("" without a
// prediction).
func (r *firmwareReport) describe() string {
	if r == nil {
		return ""
	}
	return "predicted from the firmware log " + r.Log
}
