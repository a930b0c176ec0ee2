package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/rig/qemu"
)

// runCommand is `slkit-rig run`; the console goes to stdout, phases and
// the report to stderr.
func runCommand(stdout, stderr io.Writer) *cli.Command {
	return clikit.Described("Boots KERNEL with INITRD in QEMU (SeaBIOS direct boot, or OVMF) with a swtpm TPM\n"+
		"behind the control-channel mux and a host channel on the guest's ttyS1. The console\n"+
		"goes to stdout; phases (firmware, kernel, then the guest's `slkit: phase=NAME` lines)\n"+
		"and their times go to stderr. The guest reports with `slkit: result=ok` or\n"+
		"`slkit: result=fail reason=...`. Exit: 0 the guest reported success, 3 it reported\n"+
		"failure, 2 rig failure, timeout, or no result reported.",
		clikit.Cmd("run", "boot, stream the console with phases and times, exit with the guest's result", func(c *cli.Context) error { return rigRun(c, stdout, stderr) },
			&cli.StringFlag{Name: "kernel", Usage: "kernel (default: the Debian cloud kernel fetched by make deps)"},
			&cli.StringFlag{Name: "initrd", Usage: "initramfs"},
			&cli.StringFlag{Name: "append", Value: qemu.DefaultAppend, Usage: "kernel command line"},
			&cli.BoolFlag{Name: "ovmf", Usage: "boot OVMF (UEFI, q35) instead of SeaBIOS"},
			&cli.BoolFlag{Name: "secure-boot", Usage: "with --ovmf: the Secure Boot build (SMM); a new --vars store starts with Microsoft's keys enrolled, or none with --setup-mode"},
			&cli.BoolFlag{Name: "setup-mode", Usage: "with --secure-boot: start a new variable store without keys (setup mode), to enrol your own (efi enroll)"},
			&cli.StringFlag{Name: "esp", Usage: "with --ovmf: boot `FILE.efi` (a UKI) from a FAT ESP as \\EFI\\BOOT\\BOOTX64.EFI: the firmware loads, checks and measures it (no --kernel/--initrd)"},
			&cli.StringFlag{Name: "vars", Usage: "with --ovmf: variable store to use and keep across runs (created from the template if missing)"},
			&cli.StringFlag{Name: "tpm-state", Usage: "swtpm state directory to use and keep across runs (default: a fresh one)"},
			&cli.BoolFlag{Name: "no-tpm", Usage: "boot without a TPM"},
			&cli.BoolFlag{Name: "no-mux", Usage: "connect QEMU straight to swtpm: no control-channel mux, so no DRTM emulation (a launch with --drtm emulated then does not happen)"},
			&cli.StringSliceFlag{Name: "disk", Usage: "attach the raw disk image `FILE` as an NVMe drive (repeatable; e.g. an ext4 image holding the EFI journal)"},
			&cli.BoolFlag{Name: "allow-reboot", Usage: "let the guest reboot in place (same VARS, TPM state and disks: a firmware reboot of the update workflow) instead of ending the run"},
			&cli.IntFlag{Name: "cpus", Value: 1, Usage: "the guest's number of vCPUs"},
			&cli.StringFlag{Name: "dir", Usage: "keep the console log, QEMU's stderr and the sockets here (default: a temporary directory, removed)"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "give up after this long (exit 2)"},
			&cli.BoolFlag{Name: "quiet-console", Usage: "do not stream the console (phases are still shown)"},
			&cli.BoolFlag{Name: "json", Usage: "print the run's report as JSON"}))
}

func rigRun(c *cli.Context, stdout, stderr io.Writer) error {
	if c.NArg() > 0 {
		return clikit.UsageError{Err: fmt.Errorf("rig run takes no arguments (got %q)", c.Args().First())}
	}
	cfg := qemu.RunConfig{Kernel: c.String("kernel"), Initrd: c.String("initrd"),
		OVMF: c.Bool("ovmf"), SecureBoot: c.Bool("secure-boot"), SetupMode: c.Bool("setup-mode"), Vars: c.String("vars"), ESP: c.String("esp"),
		TPMState: c.String("tpm-state"), NoTPM: c.Bool("no-tpm"), NoMux: c.Bool("no-mux"),
		Disks: c.StringSlice("disk"), AllowReboot: c.Bool("allow-reboot"), CPUs: c.Int("cpus"), Dir: c.String("dir")}
	if !c.IsSet("esp") || c.IsSet("append") {
		cfg.Append = c.String("append")
	}
	if !c.Bool("json") {
		if !c.Bool("quiet-console") {
			cfg.Console = stdout
		}
		cfg.OnPhase = func(p qemu.Phase) { fmt.Fprint(stderr, p.Line()) }
		cfg.OnDCE = func(l string) { fmt.Fprintf(stderr, "rig host: %s\n", l) }
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	rep, err := qemu.Run(ctx, cfg)
	if rep == nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(rep); jerr != nil {
			return jerr
		}
	} else {
		fmt.Fprint(stderr, rep.PhaseTable())
	}
	return err
}
