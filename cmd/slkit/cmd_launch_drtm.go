package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/slaunch"
)

// launchDRTMFlags are `slkit launch`'s DRTM flags.
func launchDRTMFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "drtm", Usage: "perform a dynamic launch with `BACKEND`: emulated (the rig's emulated DCE, over --host-channel) " +
			"or hardware (probe, stage and validate, then refuse: it needs a ring-0 stub); when it does not happen, an entry with require_drtm " +
			"is refused; one without it is launched as a measured launch, with a warning, only when the dynamic launch never started " +
			"(a failure after the DCE event is refused) (default: none; an entry with require_drtm is then refused)"},
		&cli.StringFlag{Name: "host-channel", Value: slaunch.DefaultHostChannel, Usage: "emulated: the rig's host channel, a serial `DEV` or a unix socket"},
		&cli.StringFlag{Name: "dce", Usage: "hardware: the SINIT ACM or AMD SKL `FILE` (required)"},
		&cli.StringFlag{Name: "platform", Usage: "hardware: probe the recorded register values in `FILE` instead of this machine"},
	}
}

// launchDRTMOptions turns --drtm and its flags into launch options (none
// without --drtm).
func launchDRTMOptions(c *cli.Context) ([]launch.LaunchOption, error) {
	backend := c.String("drtm")
	for _, f := range []struct{ name, backend string }{{"host-channel", "emulated"}, {"dce", "hardware"}, {"platform", "hardware"}} {
		if c.IsSet(f.name) && backend != f.backend {
			return nil, usageError{fmt.Errorf("launch: --%s needs --drtm %s", f.name, f.backend)}
		}
	}
	switch backend {
	case "":
		return nil, nil
	case "emulated":
		path := c.String("host-channel")
		open := func() (slaunch.DCEHost, io.Closer, error) {
			return slaunch.OpenHostChannel(path, slaunch.DefaultHostTimeout)
		}
		return []launch.LaunchOption{launch.WithDRTM(launch.EmulatedDRTM(open))}, nil
	case "hardware":
		if err := needFlags(c, "dce"); err != nil {
			return nil, err
		}
		dce, err := inDCE.Read(c.String("dce"))
		if err != nil {
			return nil, err
		}
		p, err := drtmPlatform(c)
		if err != nil {
			return nil, err
		}
		return []launch.LaunchOption{launch.WithDRTM(launch.HardwareDRTM(p, dce))}, nil
	default:
		return nil, usageError{fmt.Errorf("launch: --drtm %q: want emulated or hardware", backend)}
	}
}

// drtmDryRunNote describes the DRTM part of a dry run ("" without one).
func drtmDryRunNote(res *launch.Result) string {
	for _, f := range res.DRTM {
		if f.Path == launch.DRTMTargetLogPath {
			return fmt.Sprintf("; DRTM happened and verified (DRTM log, %d bytes, for %s)", len(f.Data), f.Path)
		}
	}
	return ""
}
