package main

import (
	"crypto/ed25519"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/internal/clikit"
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
		&cli.StringFlag{Name: "efi-anchor", Value: fmt.Sprintf("%#08x", tpm.DefaultJournalAnchorIndex), Usage: "the TPM NV anchor `INDEX` holding the journal's applied generation (defined when missing; none: the state file alone)"},
		&cli.StringFlag{Name: "update-counter", Usage: "increment the update-window NV counter at `INDEX` (e.g. 0x0180534c, defined when missing) before measuring; every launch must, or windows never open"},
		&cli.StringFlag{Name: "policy-anchor", Usage: "refuse a policy whose policy_version is below the minimum the TPM NV anchor at `INDEX` holds (e.g. 0x0180534d, defined when missing)"},
		&cli.StringFlag{Name: "policy-confirm", Usage: "with --policy-anchor: the `FILE` where the launched OS confirms a successful launch (`slkit policy confirm`); when it holds this policy, the minimum rises to its version"},
		&cli.StringFlag{Name: "entry-file", Usage: "take the entry name from `FILE` (e.g. on the shared disk, written by the launched OS) when neither --entry nor slkit.entry= gives one"},
	}
}

// checkPolicyAnchor is the launch's rollback check (--policy-anchor,
// update.PolicyAnchor.CheckSigned), in the pre-launch stage before
// anything is measured.
func checkPolicyAnchor(e *env, c *cli.Context, t tpm.TPMSender, signed []byte, pub ed25519.PublicKey) error {
	if err := clikit.OnlyWith(c, "policy-anchor", "policy-confirm"); err != nil || !c.IsSet("policy-anchor") {
		return err
	}
	idx, err := parseIndex(c, "policy-anchor")
	if err != nil || idx == 0 {
		return err
	}
	res, err := (&update.PolicyAnchor{Index: idx}).CheckSigned(t, signed, pub, c.String("policy-confirm"))
	if res != nil {
		fmt.Fprintf(e.stderr, "slkit: %s\n", res)
	}
	return err
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
	var err error
	if c.IsSet("update-counter") {
		if p.Counter, err = parseCounter(c, "update-counter"); err != nil {
			return nil, err
		}
	}
	if err := clikit.OnlyWith(c, "efi-journal", "efi-state", "efi-pub", "efi-allow", "efi-skip-bad-journal", "efi-anchor"); err != nil || !c.IsSet("efi-journal") {
		if err != nil || p.Counter == 0 {
			return nil, err
		}
		return p, nil
	}
	if err = clikit.NeedFlags(c, "efi-pub"); err != nil {
		return nil, err
	}
	p.Journal, p.State = c.String("efi-journal"), c.String("efi-state")
	if !p.SkipBadJournal {
		// A journal or state file that cannot be read is a bad journal,
		// which refuses the launch: say so before any TPM command (with
		// --efi-skip-bad-journal the pre-launch step skips it instead).
		if _, _, err := journal.CheckedPaths(p.Journal, p.State); err != nil {
			return nil, fmt.Errorf("commit EFI variables: nothing committed, nothing launched: %w", err)
		}
	}
	if p.JournalAnchor, err = parseIndex(c, "efi-anchor"); err != nil {
		return nil, err
	}
	if p.Pub, err = loadJournalKey(e, c.String("efi-pub"), journal.ParsePublicKey); err != nil {
		return nil, err
	}
	if p.Tries, err = journal.ParseTries(c.Uint("efi-tries")); err != nil {
		return nil, usage(fmt.Errorf("--efi-tries %d: %w", c.Uint("efi-tries"), err))
	}
	if p.Allow, err = parseAllow(c, "efi-allow"); err != nil {
		return nil, err
	}
	return p, nil
}
