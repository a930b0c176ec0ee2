package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// drtmCommand is `slkit drtm`: the DRTM probe, the staging backends, and
// the launched OS's verification and leave.
func drtmCommand(e *env) *cli.Command {
	return clikit.Group("drtm", "dynamic launch (Intel TXT, AMD SKINIT): readiness and staging",
		clikit.Cmd("status", "report Intel TXT and AMD SKINIT readiness with every blocking reason (exit 0 also when not capable)", e.drtmStatus,
			&cli.StringFlag{Name: "platform", Usage: "probe the recorded register values in `FILE` instead of this machine"},
			&cli.StringFlag{Name: "save", Usage: "also save the register values read as a recording in `FILE`"},
			jsonFlag),
		clikit.Described("emulated: writes the emulated DCE (slb.bin, dce-blob.bin), the SLRT, the DRTM log prefix\n"+
			"  and the predicted PCR17/18 (expected.json, prediction.json) to --out DIR.\n"+
			"grub: writes a TrenchBoot GRUB menu entry to --out FILE (paths as GRUB sees them).\n"+
			"hardware: probes, stages and validates, then refuses (exit 3): no ring-0 dynamic-launch stub;\n"+
			"  with --out DIR it writes what it staged and checklist.txt, what a ring-0 launch still needs here.\n"+
			"See slaunch/README.md.",
			clikit.Cmd("stage", "stage a dynamic launch with a backend: emulated, grub or hardware", e.drtmStage,
				&cli.StringFlag{Name: "backend", Required: true, Usage: "emulated, grub or hardware (required)"},
				&cli.StringFlag{Name: "kernel", Required: true, Usage: "kernel image `FILE` (required)"},
				&cli.StringFlag{Name: "initrd", Usage: "initrd `FILE` (default: none)"},
				&cli.StringFlag{Name: "cmdline", Usage: "kernel command line (UTF-8)"},
				&cli.StringFlag{Name: "dce", Usage: "SINIT ACM or SKL `FILE` (grub, hardware)"},
				&cli.StringFlag{Name: "out", Usage: "output directory (emulated; hardware: the staged files and checklist.txt) or menu entry file (grub)"},
				&cli.StringFlag{Name: "title", Usage: "GRUB menu entry title"},
				&cli.StringFlag{Name: "grub-root", Usage: "grub: where GRUB's root device is mounted here (/boot: /boot/vmlinuz is written as /vmlinuz; default: paths as given)"},
				&cli.BoolFlag{Name: "unrestricted", Usage: "grub: let anyone at the console boot the entry even with a GRUB superuser password"},
				&cli.StringFlag{Name: "platform", Usage: "hardware: probe the recording in `FILE` instead of this machine"},
				&cli.StringSliceFlag{Name: "bank", Usage: "bank to predict (repeatable; default sha1, sha256, sha384, sha512)"},
				jsonFlag)),
		clikit.Cmd("verify", "in the launched OS: check that a dynamic launch happened and that the DRTM log replays to PCR17/18 in every bank (exit 3 if not)", clikit.NoArgs(e.drtmVerify),
			&cli.StringFlag{Name: "log", Value: launch.DRTMTargetLogPath, Usage: "DRTM event log `FILE` (default: a Secure Launch kernel's securityfs log when there is one, else the one slkit launch hands over)"},
			&cli.StringFlag{Name: "securityfs", Value: slaunch.SecurityFSDir, Usage: "the Secure Launch kernel's securityfs `DIR` (eventlog, txt/): a copy can be read elsewhere"},
			jsonFlag),
		clikit.Described("Extends PCR 17 and then PCR 18, in every active bank, with the event \""+slaunch.DescLeave+"\"\n"+
			"(type 0x502, the hash of those bytes), appends both events to the launch's DRTM log and\n"+
			"writes the result to --out (the handed-over log is left as it is), checks that it replays\n"+
			"to PCR 17/18, and tells the emulated DCE on the host channel, which gives the launch's\n"+
			"locality up and allows one more DCE event (for the pre-launch environment this OS kexecs\n"+
			"into). Exit 3 if the log does not replay after the leave, 2 if the TPM or the host failed.",
			clikit.Cmd("leave", "in the launched OS: leave the dynamic launch before handing over (nothing sealed to it unseals until the next launch)", clikit.NoArgs(e.drtmLeave),
				&cli.StringFlag{Name: "log", Value: launch.DRTMTargetLogPath, Usage: "the launch's DRTM log `FILE`, as handed over"},
				&cli.StringFlag{Name: "out", Value: slaunch.LeftLogPath, Usage: "write the log with the leave events to `FILE`"},
				&cli.StringFlag{Name: "host-channel", Value: slaunch.DefaultHostChannel, Usage: "the rig's host channel, a serial `DEV` or a unix socket"})),
	)
}

// drtmVerify is `slkit drtm verify`: slaunch.ReportLaunch of the DRTM
// log (slaunch.ReadLaunchLog) against the TPM. A missing log is a verdict
// (no DRTM log: exit 3), a malformed or empty one an input error.
func (e *env) drtmVerify(c *cli.Context) error {
	l, err := slaunch.ReadLaunchLog(c.String("log"), c.String("securityfs"), c.IsSet("log"))
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		r, err := slaunch.ReportLaunch(t, l.Log, l.TXT)
		if err != nil {
			return err
		}
		return e.verdict(c, r, r.Text(l.Name), l.Verdict(r.Err()))
	})
}

// drtmPlatform is the machine, or a recording given with --platform
// (slaunch.OpenPlatform).
func drtmPlatform(c *cli.Context) (slaunch.Platform, error) {
	return slaunch.OpenPlatform(c.String("platform"))
}

func (e *env) drtmStatus(c *cli.Context) error {
	p, err := drtmPlatform(c)
	if err != nil {
		return err
	}
	s, err := slaunch.ProbeAndSave(p, c.String("save"))
	if err != nil {
		return err
	}
	return e.report(c, s, s.Text())
}

// drtmLeave is `slkit drtm leave`: slaunch.Leave, then the log to --out
// (Left.WriteLog: also when only the host's part failed).
func (e *env) drtmLeave(c *cli.Context) error {
	name, out := c.String("log"), c.String("out")
	b, err := slaunch.DRTMLogInput.Read(name)
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		host := &slaunch.LazyHost{Path: c.String("host-channel")}
		defer host.Close()
		left, err := slaunch.Leave(t, b, host)
		if errors.Is(err, slaunch.ErrMalformed) {
			return inputErr(name, err)
		}
		if err := left.WriteLog(out, err); err != nil {
			return err
		}
		_, err = fmt.Fprint(e.stdout, left.Text(out))
		return err
	})
}
