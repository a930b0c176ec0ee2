package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

func launchCommand(e *env) *cli.Command {
	return clikit.Described("Verifies the signed launch policy under the public key before anything else,\n"+
		"measures the policy file (PCR 8), checks the entry's kernel and initrd against the\n"+
		"policy's SHA-256 (a mismatch never boots and exits 3), measures kernel, initrd and\n"+
		"command line, appends the event log to the initrd (at "+launch.TargetLogPath+")\n"+
		"and hands over with kexec. Phase markers go to stderr as\n"+
		"`slkit: phase=<name> t=<seconds>s` (seconds since the command started).",
		clikit.Cmd("launch", "pre-launch entry point: verify the signed policy, measure, kexec",
			func(c *cli.Context) error { return launchAction(e, c, hostEFISeams()) },
			append([]cli.Flag{
				&cli.StringFlag{Name: "policy", Usage: "signed launch policy `FILE` (required)"},
				&cli.StringFlag{Name: "policy-key", Usage: "Ed25519 public key `FILE` (PEM) the policy must verify under (required)"},
				&cli.StringFlag{Name: "entry", Usage: "policy entry `NAME` (default: slkit.entry=NAME on the kernel command line, else the first entry)"},
				&cli.StringSliceFlag{Name: "handover", Usage: "hand `SRC:DST` to the launched kernel, unmeasured, next to the event log (e.g. a sealed secret); DST must lie under " + launch.HandoverDir},
				&cli.StringFlag{Name: "log", Value: launch.DefaultLogPath, Usage: "pre-launch event log `FILE`"},
				&cli.StringFlag{Name: "root", Value: "/", Usage: "look up the policy's image paths under `DIR`"},
				&cli.BoolFlag{Name: "dry-run", Usage: "do everything (PCRs are extended) but the kexec"},
				&cli.BoolFlag{Name: "json", Usage: "with --dry-run: print {\"entry\",\"events\":[EVENT...],\"log\",\"kernel\",\"initrd\",\"cmdline\",\"drtm_handover\":[PATH...],\"drtm_fallback\"}"},
			}, append(launchDRTMFlags(), launchEFIFlags()...)...)...))
}

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

// launchAction is `slkit launch` with the EFI step's seams es (the tests'
// fakes, or hostEFISeams). Every input is read and checked before the TPM
// is opened.
func launchAction(e *env, c *cli.Context, es efiSeams) error {
	start := time.Now()
	phase := func(name string) {
		fmt.Fprintf(e.stderr, "slkit: phase=%s t=%.3fs\n", name, time.Since(start).Seconds())
	}
	if err := clikit.NeedFlags(c, "policy", "policy-key"); err != nil {
		return err
	}
	if c.Bool("json") && !c.Bool("dry-run") {
		return usage(errors.New("launch: --json needs --dry-run (a launch that hands over does not return)"))
	}
	signed, pub, err := policy.ReadSigned(c.String("policy"), c.String("policy-key"))
	if err != nil {
		return err
	}
	files, err := launch.ReadHandover(c.StringSlice("handover"))
	if err != nil {
		return err
	}
	if err := tpm.EventLogInput.Check(c.String("log"), true); err != nil {
		return err
	}
	drtm, err := launch.DRTMRequest{Backend: c.String("drtm"), HostChannel: givenString(c, "host-channel"),
		DCE: c.String("dce"), Platform: c.String("platform")}.Options()
	if err != nil {
		return err
	}
	efiStep, err := parseLaunchEFI(e, c, es, phase)
	if err != nil {
		return err
	}
	entry, err := launch.EntrySources{Name: c.String("entry"), Cmdline: e.kernelCmdline, File: c.String("entry-file")}.Entry()
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		if err := checkPolicyAnchor(e, c, t, signed, pub); err != nil {
			return err
		}
		opts := append([]launch.LaunchOption{
			launch.WithEntry(entry),
			launch.WithHandoverFiles(files...),
			launch.WithLaunchLog(c.String("log")),
			launch.WithFS(os.DirFS(c.String("root"))),
			launch.WithKexec(launch.NewKexec(launch.WithDryRun(c.Bool("dry-run")))),
			launch.WithPhase(phase),
			launch.WithWarnings(func(m string) { fmt.Fprintf(e.stderr, "slkit: warning: %s\n", clikit.OneLine(m)) }),
			launch.WithInfo(func(m string) { fmt.Fprintf(e.stderr, "slkit: %s\n", m) }),
		}, drtm...)
		if efiStep != nil {
			opts = append(opts, launch.WithCommitEFI(func() error { return efiStep.Run(t) }))
		}
		res, err := launch.Launch(t, signed, pub, opts...)
		if err != nil && res == nil {
			return inputErr(c.String("policy"), err)
		}
		if err != nil {
			return err
		}
		return e.report(c, res.DryRunReport(), res.DryRunText())
	})
}
