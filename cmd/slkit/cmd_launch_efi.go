package main

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

// efiSeams are the hardware seams of launch's EFI step: the variable
// layer and the firmware reboot (the CLI tests substitute the efitest
// fake and a recorder; a test must never reboot the host).
type efiSeams struct {
	open   func(dir string, opts ...efi.Option) (*efi.Vars, error)
	reboot func() error
}

// hostEFISeams are the real ones: efivarfs, and the reboot the PID-1
// runtime uses (sync, then reboot(2); it needs CAP_SYS_BOOT, not PID 1).
func hostEFISeams() efiSeams {
	return efiSeams{
		open:   efi.OpenDir,
		reboot: func() error { return pid1.NewSystem().Reboot(initramfs.Reboot) },
	}
}

// launchEFIFlags are `slkit launch`'s flags for the deferred EFI commit and
// the update window.
func launchEFIFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "efi-journal", Usage: "commit the deferred EFI variable journal `FILE` before anything else (no journal there: nothing to do)"},
		&cli.StringFlag{Name: "efi-state", Usage: "the journal's state `FILE` (default: the journal's name + .state)"},
		&cli.StringFlag{Name: "efi-pub", Usage: "Ed25519 public key `FILE` the journal must be signed with (required with --efi-journal; embed it in the measured image)"},
		&cli.StringSliceFlag{Name: "efi-allow", Usage: "also allow committing `NAME-GUID` (PREFIX*-GUID, *-GUID) beyond the kernel's list (repeatable)"},
		&cli.UintFlag{Name: "efi-tries", Value: journal.DefaultTries, Usage: "attempts per journal entry across boots (1-255)"},
		&cli.StringFlag{Name: "efivars", Value: efi.DefaultDir, Usage: "efivarfs mount `DIR`"},
		&cli.BoolFlag{Name: "efi-skip-bad-journal", Usage: "launch without committing when the journal does not verify (default: refuse the launch)"},
		&cli.StringFlag{Name: "update-counter", Usage: "increment the update-window NV counter at `INDEX` (e.g. 0x0180534c) before measuring; every launch must, or windows never open"},
	}
}

// parseLaunchEFI reads the EFI flags into the pre-launch step (usage and
// input errors come before any TPM or EFI access); nil when neither
// --efi-journal nor --update-counter is given.
func parseLaunchEFI(e *env, c *cli.Context, seams efiSeams, phase func(string)) (*update.PreLaunch, error) {
	efivars := c.String("efivars")
	p := &update.PreLaunch{
		SkipBadJournal: c.Bool("efi-skip-bad-journal"), DryRun: c.Bool("dry-run"),
		OpenVars: func(opts ...efi.Option) (*efi.Vars, error) { return seams.open(efivars, opts...) },
		Reboot:   seams.reboot, Log: e.stderr, Phase: phase,
	}
	if c.IsSet("update-counter") {
		n, err := strconv.ParseUint(c.String("update-counter"), 0, 32)
		if err != nil {
			return nil, usageError{fmt.Errorf("--update-counter %q: want an NV index such as 0x%08x", c.String("update-counter"), tpm.DefaultCounterIndex)}
		}
		if _, err := tpm.CounterAt(uint32(n)); err != nil {
			return nil, usageError{fmt.Errorf("--update-counter: %w", err)}
		}
		p.Counter = uint32(n)
	}
	if !c.IsSet("efi-journal") {
		for _, f := range []string{"efi-state", "efi-pub", "efi-allow", "efi-skip-bad-journal"} {
			if c.IsSet(f) {
				return nil, usageError{fmt.Errorf("launch: --%s needs --efi-journal", f)}
			}
		}
		if p.Counter == 0 {
			return nil, nil
		}
		return p, nil
	}
	if err := needFlags(c, "efi-pub"); err != nil {
		return nil, err
	}
	p.Journal, p.State = c.String("efi-journal"), c.String("efi-state")
	state := p.State
	if state == "" {
		state = p.Journal + ".state"
	}
	if err := checkInput(p.Journal, inJournal, true); err != nil {
		return nil, err
	}
	if err := checkInput(state, inState, true); err != nil {
		return nil, err
	}
	pub, err := loadJournalKey(e, c.String("efi-pub"), journal.ParsePublicKey)
	if err != nil {
		return nil, err
	}
	p.Pub = pub
	if t := c.Uint("efi-tries"); t < 1 || t > 255 {
		return nil, usageError{fmt.Errorf("--efi-tries %d: want 1 to 255", t)}
	}
	p.Tries = uint8(c.Uint("efi-tries"))
	if p.Allow, err = parseAllow(c.StringSlice("efi-allow"), "--efi-allow"); err != nil {
		return nil, err
	}
	return p, nil
}

// launchEFIOptions runs the pre-launch step first in the launch, on t.
func launchEFIOptions(p *update.PreLaunch, t tpm.TPMSender) []launch.LaunchOption {
	if p == nil {
		return nil
	}
	return []launch.LaunchOption{launch.WithCommitEFI(func() error { return p.Run(t) })}
}
