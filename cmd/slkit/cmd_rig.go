//go:build !slkit_image

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/rig/qemu"
)

func rigCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "rig",
		Usage: "boot a kernel and initramfs in QEMU with swtpm (the test rig)",
		Subcommands: []*cli.Command{{
			Name:  "run",
			Usage: "boot, stream the console with phases and times, exit with the guest's result",
			Description: "Boots KERNEL with INITRD in QEMU (SeaBIOS direct boot, or OVMF) with a swtpm TPM\n" +
				"behind the control-channel mux and a host channel on the guest's ttyS1. The console\n" +
				"goes to stdout; phases (firmware, kernel, then the guest's `slkit: phase=NAME` lines)\n" +
				"and their times go to stderr. The guest reports with `slkit: result=ok` or\n" +
				"`slkit: result=fail reason=...`. Exit: 0 the guest reported success, 3 it reported\n" +
				"failure, 2 rig failure, timeout, or no result reported.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "kernel", Usage: "kernel (default: the Debian cloud kernel fetched by make deps)"},
				&cli.StringFlag{Name: "initrd", Usage: "initramfs"},
				&cli.StringFlag{Name: "append", Value: qemu.DefaultAppend, Usage: "kernel command line"},
				&cli.BoolFlag{Name: "ovmf", Usage: "boot OVMF (UEFI, q35) instead of SeaBIOS"},
				&cli.BoolFlag{Name: "secure-boot", Usage: "with --ovmf: the Secure Boot build (SMM) with Microsoft's keys enrolled"},
				&cli.StringFlag{Name: "vars", Usage: "with --ovmf: variable store to use and keep across runs (created from the template if missing)"},
				&cli.StringFlag{Name: "tpm-state", Usage: "swtpm state directory to use and keep across runs (default: a fresh one)"},
				&cli.BoolFlag{Name: "no-tpm", Usage: "boot without a TPM"},
				&cli.BoolFlag{Name: "no-mux", Usage: "connect QEMU straight to swtpm: no control-channel mux, so no DRTM emulation (a launch with --drtm emulated then does not happen)"},
				&cli.StringSliceFlag{Name: "disk", Usage: "attach the raw disk image `FILE` as an NVMe drive (repeatable; e.g. an ext4 image holding the EFI journal)"},
				&cli.BoolFlag{Name: "allow-reboot", Usage: "let the guest reboot in place (same VARS, TPM state and disks: a firmware reboot of the update workflow) instead of ending the run"},
				&cli.StringFlag{Name: "dir", Usage: "keep the console log, QEMU's stderr and the sockets here (default: a temporary directory, removed)"},
				&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "give up after this long (exit 2)"},
				&cli.BoolFlag{Name: "quiet-console", Usage: "do not stream the console (phases are still shown)"},
				jsonFlag,
			},
			Action: func(c *cli.Context) error { return rigRun(e, c) },
		}},
	}
}

// rigReport is `rig run --json`.
type rigReport struct {
	Result qemu.Result   `json:"result"`
	Phases []qemu.Phase  `json:"phases"`
	Total  time.Duration `json:"total_ns"`
	Accel  string        `json:"accel"`
	// DCE is what the rig's DCE service decided (armings, DCE events,
	// refused requests), in order.
	DCE     []string `json:"dce,omitempty"`
	Console string   `json:"console_log,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Tail is the end of the console when the guest did not succeed.
	Tail []string `json:"console_tail,omitempty"`
}

func rigRun(e *env, c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError{fmt.Errorf("rig run takes no arguments (got %q)", c.Args().First())}
	}
	if !c.Bool("ovmf") && (c.Bool("secure-boot") || c.String("vars") != "") {
		return usageError{errors.New("--secure-boot and --vars need --ovmf")}
	}
	if c.Bool("no-tpm") && (c.String("tpm-state") != "" || c.Bool("no-mux")) {
		return usageError{errors.New("--no-tpm excludes --tpm-state and --no-mux")}
	}
	kernel := c.String("kernel")
	if kernel == "" {
		k, err := qemu.CachedKernel()
		if err != nil {
			return err
		}
		kernel = k.Path
	}
	for _, f := range append([]string{kernel, c.String("initrd")}, c.StringSlice("disk")...) {
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
			note := ""
			if p.Estimated {
				note = " (start estimated from the guest's uptime)"
			}
			fmt.Fprintf(e.stderr, "[%6.1fs] phase %s%s\n", p.Start.Seconds(), p.Name, note)
		}
	})
	accel := qemu.Accel(kernel)
	vmOpts := []qemu.VMOption{qemu.WithKernel(kernel), qemu.WithAppend(c.String("append")),
		qemu.WithLineHook(tr.Line), qemu.WithAccel(accel)}
	if c.String("initrd") != "" {
		vmOpts = append(vmOpts, qemu.WithInitrd(c.String("initrd")))
	}
	if !c.Bool("quiet-console") && !c.Bool("json") {
		vmOpts = append(vmOpts, qemu.WithConsoleWriter(e.stdout))
	}
	for _, d := range c.StringSlice("disk") {
		vmOpts = append(vmOpts, qemu.WithDisk(d))
	}
	if c.Bool("allow-reboot") {
		vmOpts = append(vmOpts, qemu.WithReboot())
	}
	if c.Bool("ovmf") {
		vmOpts = append(vmOpts, qemu.WithOVMF(qemu.OVMF{SecureBoot: c.Bool("secure-boot"), Vars: c.String("vars")}))
	}
	opts := []qemu.RigOption{qemu.WithVM(vmOpts...), qemu.WithDCELog(func(l string) {
		if !c.Bool("json") {
			fmt.Fprintf(e.stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), l)
		}
	})}
	if c.Bool("no-tpm") {
		opts = append(opts, qemu.WithoutTPM())
	} else if s := c.String("tpm-state"); s != "" {
		opts = append(opts, qemu.WithTPMState(s))
	}
	if c.Bool("no-mux") {
		opts = append(opts, qemu.WithDirectTPM())
	}
	r, err := qemu.StartRig(ctx, dir, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	werr := r.VM.Wait(ctx)
	res := tr.Result()
	werr = res.Err(werr)
	rep := rigReport{Result: res, Phases: tr.Phases(), Total: time.Since(start), Accel: accel}
	if r.DCE != nil {
		rep.DCE = r.DCE.Log()
	}
	if c.String("dir") != "" {
		rep.Console = filepath.Join(r.VM.Dir, "console.log")
	}
	if werr != nil {
		rep.Error = oneLine(werr.Error())
		lines := r.VM.Console().Lines()
		rep.Tail = lines[max(0, len(lines)-20):]
	}
	if c.Bool("json") {
		if err := e.writeJSON(rep); err != nil {
			return err
		}
	} else {
		printPhaseTable(e, rep)
	}
	return werr
}

// printPhaseTable prints each phase's duration and the outcome to stderr.
func printPhaseTable(e *env, rep rigReport) {
	fmt.Fprintf(e.stderr, "\n%-12s %9s %9s\n", "phase", "start", "duration")
	for i, p := range rep.Phases {
		end := rep.Total
		if i+1 < len(rep.Phases) {
			end = rep.Phases[i+1].Start
		}
		fmt.Fprintf(e.stderr, "%-12s %8.1fs %8.1fs\n", p.Name, p.Start.Seconds(), (end - p.Start).Seconds())
	}
	outcome := "reported success"
	switch {
	case rep.Error != "" && rep.Result.Reported && !rep.Result.OK:
		outcome = "reported failure: " + rep.Result.Reason
	case rep.Error != "":
		outcome = "did not finish: " + rep.Error
	}
	fmt.Fprintf(e.stderr, "[%6.1fs] guest %s (accel %s)\n", rep.Total.Seconds(), outcome, rep.Accel)
}
