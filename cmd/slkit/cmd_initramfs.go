//go:build !slkit_image

package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/internal/clikit"
)

func initramfsCommand(e *env) *cli.Command {
	return clikit.Group("initramfs", "build the pre-launch initramfs (reproducible cpio)", clikit.Described("The same inputs give the same bytes. By default /init runs\n"+
		"`slkit launch --policy "+initramfs.PolicyPath+" --policy-key "+initramfs.PolicyKeyPath+"`;\n"+
		"--run replaces that command (e.g. for a target image's post-launch step).\n"+
		"When the command fails, the image prints the reason and powers off (or reboots).",
		clikit.Cmd("build", "build a minimal (slkit as /init) or full (u-root + slkit) initramfs; print its SHA-256 and PCR 9 contribution",
			func(c *cli.Context) error { return initramfsBuild(e, c) }, append([]cli.Flag{
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the archive to `FILE` (atomically; required unless --uki)"},
				&cli.BoolFlag{Name: "full", Usage: "u-root core commands through mkuimage, slkit as uinit (slow: about a minute)"},
				&cli.StringFlag{Name: "policy", Usage: "signed launch policy `FILE` to embed at " + initramfs.PolicyPath},
				&cli.StringFlag{Name: "policy-key", Usage: "public key `FILE` the policy verifies under, embedded at " + initramfs.PolicyKeyPath},
				&cli.StringSliceFlag{Name: "add", Usage: "add host file SRC at absolute path DST (`SRC:DST`, repeatable)"},
				&cli.StringSliceFlag{Name: "module", Usage: "kernel module `FILE` (.ko[.gz|.xz|.zst]) to load at boot, in order (repeatable)"},
				&cli.StringFlag{Name: "run", Usage: "slkit `ARGS` /init runs, split at white space (default: launch with the embedded policy)"},
				&cli.StringSliceFlag{Name: "then", Usage: "slkit `ARGS` to run after --run succeeds (repeatable, in order; the first failure ends the run; \"! ARGS\": must be refused, exit 1 or 3)"},
				&cli.StringFlag{Name: "on-failure", Value: string(initramfs.PowerOff), Usage: "what to do when the command fails: poweroff or reboot"},
				&cli.StringFlag{Name: "on-success", Value: string(initramfs.PowerOff), Usage: "what to do when every step succeeded: poweroff or reboot"},
				&cli.StringSliceFlag{Name: "job", Usage: "add a step to a job the --job-request file may ask for: `NAME:ARGS` (repeatable, in order)"},
				&cli.StringSliceFlag{Name: "job-on-success", Usage: "what to do after job NAME succeeded: `NAME:ACTION` (poweroff or reboot; default --on-success)"},
				&cli.StringFlag{Name: "job-request", Usage: "the `FILE` (on a disk an earlier step mounts) whose first line names the job to run after the steps; taken out before the job runs"},
				&cli.BoolFlag{Name: "debug-shell", Usage: "after a failure, start gosh if the image has it (never for real images)"},
				&cli.StringFlag{Name: "slkit-binary", Usage: "use this prebuilt static slkit `FILE` instead of building one"},
				&cli.StringFlag{Name: "source", Usage: "slkit source `DIR` (default: found at or above the working directory)"},
				&cli.BoolFlag{Name: "verbose", Usage: "show the output of go build and mkuimage on stderr"},
				jsonFlag,
			}, ukiFlags()...)...)))
}

func initramfsBuild(e *env, c *cli.Context) error {
	f := initramfs.BuildFlags{
		Full: c.Bool("full"), Policy: c.String("policy"), PolicyKey: c.String("policy-key"),
		Add: c.StringSlice("add"), Modules: c.StringSlice("module"),
		Run: optionalString(c, "run"), Then: c.StringSlice("then"),
		OnFailure: c.String("on-failure"), OnSuccess: c.String("on-success"),
		Jobs: c.StringSlice("job"), JobOnSuccess: c.StringSlice("job-on-success"), JobRequest: c.String("job-request"),
		DebugShell: c.Bool("debug-shell"), SlkitBinary: c.String("slkit-binary"), Source: c.String("source"),
	}
	if c.Bool("verbose") {
		f.Log = e.stderr
	}
	opts, err := f.Options()
	if err != nil {
		return err
	}
	if c.IsSet("uki") {
		return ukiBuild(e, c, opts)
	}
	out := c.String("out")
	if out == "" {
		return usage(fmt.Errorf("initramfs build: --out (or --uki) is required"))
	}
	start := time.Now()
	res, err := initramfs.BuildFile(c.Context, out, opts...)
	if err != nil {
		return err
	}
	took := time.Since(start)
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "slkit: warning: %s\n", w)
	}
	return e.report(c, initramfs.Report{Out: out, Seconds: took.Seconds(), Result: res}, res.Text(out, took.Seconds()))
}
