package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/qemu"
)

// errGuestFailed is a guest that reported failure (exit 3).
var errGuestFailed = errors.New("guest reported failure")

func rigCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "rig",
		Usage: "boot a kernel and initramfs in QEMU with swtpm (the test rig)",
		Subcommands: []*cli.Command{{
			Name:  "run",
			Usage: "boot, stream the console with phases and times, exit with the guest's result (0 ok, 3 failed, 2 rig failure or timeout)",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "kernel", Usage: "kernel (default: the Debian cloud kernel fetched by make deps)"},
				&cli.StringFlag{Name: "initrd", Usage: "initramfs"},
				&cli.StringFlag{Name: "append", Value: "console=ttyS0 panic=-1 quiet", Usage: "kernel command line"},
				&cli.BoolFlag{Name: "ovmf", Usage: "boot OVMF (UEFI, q35) instead of SeaBIOS"},
				&cli.BoolFlag{Name: "secure-boot", Usage: "with --ovmf: the Secure Boot build with Microsoft keys enrolled"},
				&cli.StringFlag{Name: "vars", Usage: "with --ovmf: variable store to use and keep across runs (created from the template if missing)"},
				&cli.StringFlag{Name: "tpm-state", Usage: "swtpm state directory to use and keep (default: fresh)"},
				&cli.BoolFlag{Name: "no-tpm", Usage: "boot without a TPM"},
				&cli.StringFlag{Name: "dir", Usage: "working directory for the console log and sockets (default: a temporary one)"},
				&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "give up after this long"},
				&cli.BoolFlag{Name: "quiet-console", Usage: "do not stream the console (phases are still shown)"},
				jsonFlag,
			},
			Action: func(c *cli.Context) error { return rigRun(e, c) },
		}},
	}
}

type rigReport struct {
	Result  qemu.Result   `json:"result"`
	Phases  []qemu.Phase  `json:"phases"`
	Total   time.Duration `json:"total_ns"`
	Console string        `json:"console_log"`
}

func rigRun(e *env, c *cli.Context) error {
	kernel := c.String("kernel")
	if kernel == "" {
		k, err := qemu.CachedKernel()
		if err != nil {
			return inputError{"--kernel", err}
		}
		kernel = k.Path
	}
	for _, f := range []string{kernel, c.String("initrd")} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return inputError{f, errors.Unwrap(err)}
		}
	}
	dir := c.String("dir")
	if dir == "" {
		d, err := os.MkdirTemp("", "slkit-rig-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	start := time.Now()
	tr := qemu.NewTracker(start, func(p qemu.Phase) {
		if !c.Bool("json") {
			fmt.Fprintf(e.stderr, "[%6.1fs] phase %s\n", p.Start.Seconds(), p.Name)
		}
	})
	vmOpts := []qemu.VMOption{qemu.WithKernel(kernel), qemu.WithAppend(c.String("append")), qemu.WithLineHook(tr.Line)}
	if c.String("initrd") != "" {
		vmOpts = append(vmOpts, qemu.WithInitrd(c.String("initrd")))
	}
	if !c.Bool("quiet-console") && !c.Bool("json") {
		vmOpts = append(vmOpts, qemu.WithConsoleWriter(e.stdout))
	}
	if c.Bool("ovmf") {
		vmOpts = append(vmOpts, qemu.WithOVMF(qemu.OVMF{SecureBoot: c.Bool("secure-boot"), Vars: c.String("vars")}))
	} else if c.Bool("secure-boot") || c.String("vars") != "" {
		return usageError{errors.New("--secure-boot and --vars need --ovmf")}
	}
	opts := []qemu.RigOption{qemu.WithVM(vmOpts...)}
	if c.Bool("no-tpm") {
		opts = append(opts, qemu.WithoutTPM())
	} else if s := c.String("tpm-state"); s != "" {
		opts = append(opts, qemu.WithTPMState(s))
	}
	r, err := qemu.StartRig(ctx, dir, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	werr := r.VM.Wait(ctx)
	rep := rigReport{Result: tr.Result(), Phases: tr.Phases(), Total: time.Since(start), Console: r.VM.Dir + "/console.log"}
	if c.String("dir") == "" {
		rep.Console = ""
	}
	if c.Bool("json") {
		if err := e.writeJSON(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stderr, "[%6.1fs] guest %s\n", rep.Total.Seconds(), describeResult(rep.Result, werr))
	}
	switch {
	case werr != nil:
		return werr
	case rep.Result.Reported && !rep.Result.OK:
		return fmt.Errorf("%w: %s", errGuestFailed, rep.Result.Reason)
	}
	return nil
}

func describeResult(r qemu.Result, werr error) string {
	switch {
	case werr != nil:
		return "did not finish: " + werr.Error()
	case !r.Reported:
		return "powered off without reporting a result"
	case r.OK:
		return "reported success"
	}
	return "reported failure: " + r.Reason
}
