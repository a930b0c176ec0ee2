package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/tpm"
)

// phaseEFICommit is the phase marker of launch's deferred EFI commit.
const phaseEFICommit = "efi-commit"

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

// errFirmwareReboot stops a launch whose committed changes need the
// firmware: it is returned only when the reboot seam returns (a test's);
// the real reboot does not.
var errFirmwareReboot = errors.New("rebooting through the firmware for the committed EFI variable changes; nothing launched")

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

// launchEFI is launch's EFI step, parsed before the TPM is opened.
type launchEFI struct {
	e       *env
	seams   efiSeams
	phase   func(string)
	journal string
	state   string
	pub     ed25519.PublicKey
	allow   []efi.Pattern
	tries   uint8
	efivars string
	skipBad bool
	counter uint32
	hasCtr  bool
	dryRun  bool
}

// parseLaunchEFI reads the EFI flags (usage and input errors come before
// any TPM or EFI access). Without --efi-journal and --update-counter the
// step does nothing.
func parseLaunchEFI(e *env, c *cli.Context, seams efiSeams, phase func(string)) (*launchEFI, error) {
	l := &launchEFI{e: e, seams: seams, phase: phase, efivars: c.String("efivars"), skipBad: c.Bool("efi-skip-bad-journal"), dryRun: c.Bool("dry-run")}
	if c.IsSet("update-counter") {
		n, err := strconv.ParseUint(c.String("update-counter"), 0, 32)
		if err != nil {
			return nil, usageError{fmt.Errorf("--update-counter %q: want an NV index such as 0x%08x", c.String("update-counter"), tpm.DefaultCounterIndex)}
		}
		if _, err := tpm.CounterAt(uint32(n)); err != nil {
			return nil, usageError{fmt.Errorf("--update-counter: %w", err)}
		}
		l.counter, l.hasCtr = uint32(n), true
	}
	if !c.IsSet("efi-journal") {
		for _, f := range []string{"efi-state", "efi-pub", "efi-allow", "efi-skip-bad-journal"} {
			if c.IsSet(f) {
				return nil, usageError{fmt.Errorf("launch: --%s needs --efi-journal", f)}
			}
		}
		return l, nil
	}
	if err := needFlags(c, "efi-pub"); err != nil {
		return nil, err
	}
	l.journal, l.state = c.String("efi-journal"), c.String("efi-state")
	if l.state == "" {
		l.state = l.journal + ".state"
	}
	pub, err := loadJournalKey(e, c.String("efi-pub"), journal.ParsePublicKey)
	if err != nil {
		return nil, err
	}
	l.pub = pub
	if t := c.Uint("efi-tries"); t < 1 || t > 255 {
		return nil, usageError{fmt.Errorf("--efi-tries %d: want 1 to 255", t)}
	}
	l.tries = uint8(c.Uint("efi-tries"))
	if l.allow, err = parseAllow(c.StringSlice("efi-allow"), "--efi-allow"); err != nil {
		return nil, err
	}
	return l, nil
}

// options returns the launch option that runs the step first, on t.
func (l *launchEFI) options(t tpm.TPMSender) []launch.LaunchOption {
	if l.journal == "" && !l.hasCtr {
		return nil
	}
	return []launch.LaunchOption{launch.WithCommitEFI(func() error { return l.run(t) })}
}

// run commits the journal; reboots when a committed change needs the
// firmware (the state is durable: Commit replaced the state file with
// fsync before and after every write, and the reboot syncs); otherwise
// increments the update counter, and the launch goes on.
func (l *launchEFI) run(t tpm.TPMSender) error {
	if l.journal != "" {
		l.phase(phaseEFICommit)
		res, err := l.commit()
		if err != nil {
			return err
		}
		if res != nil && (res.RebootRequired || res.RetryAfterReboot) {
			why := "a committed change takes effect only through the firmware (BootNext, OsIndications)"
			if !res.RebootRequired {
				why = "the variable store is full; the firmware reclaims space at boot and the rest is retried then"
			}
			if l.dryRun {
				fmt.Fprintf(l.e.stderr, "slkit: efi: dry run: would reboot now: %s\n", why)
			} else {
				fmt.Fprintf(l.e.stderr, "slkit: efi: rebooting: %s\n", why)
				l.phase(string(initramfs.Reboot))
				if err := l.seams.reboot(); err != nil {
					return fmt.Errorf("reboot for the committed EFI changes: %w", err)
				}
				return errFirmwareReboot
			}
		}
	}
	if l.hasCtr {
		return l.increment(t)
	}
	return nil
}

// commit applies the journal and reports each entry on stderr. A journal
// that does not verify commits nothing: the launch is refused, or with
// --efi-skip-bad-journal goes on without it.
func (l *launchEFI) commit() (*journal.Result, error) {
	if _, err := os.Stat(l.journal); errors.Is(err, fs.ErrNotExist) {
		// Nothing queued: the variables are not even opened, so the
		// same image also launches where there is no EFI.
		fmt.Fprintf(l.e.stderr, "slkit: efi: %s: nothing queued\n", l.journal)
		return nil, nil
	}
	v, err := l.seams.open(l.efivars, efi.WithMutable(l.allow...))
	if err != nil {
		return nil, err
	}
	res, err := journal.Commit(context.Background(), v, l.journal, l.state, l.pub,
		journal.WithAllowed(l.allow...), journal.WithTries(l.tries))
	if err != nil {
		if l.skipBad && badJournal(err) {
			fmt.Fprintf(l.e.stderr, "slkit: efi: warning: nothing committed, launching without the journal: %s\n", oneLine(err.Error()))
			return nil, nil
		}
		return nil, fmt.Errorf("nothing committed, nothing launched: %w", err)
	}
	if !res.Journal {
		fmt.Fprintf(l.e.stderr, "slkit: efi: %s: nothing queued\n", l.journal)
		return res, nil
	}
	w := l.e.stderr
	for i := range res.Entries {
		fmt.Fprintf(w, "slkit: efi: %s\n", res.Entries[i].String())
	}
	if err := res.Err(); err != nil {
		// Entries that failed are final (or wait for a later boot): the
		// launched OS sees them in `slkit efi queue list`.
		fmt.Fprintf(w, "slkit: efi: warning: %s\n", oneLine(err.Error()))
	}
	return res, nil
}

// badJournal: the journal was refused as a whole for what it is
// (tampered, wrong key, replayed, malformed, not allowed), not for an I/O
// failure.
func badJournal(err error) bool {
	for _, e := range []error{journal.ErrSignature, journal.ErrWrongKey, journal.ErrReplay, journal.ErrNotAllowed, journal.ErrMalformed, journal.ErrBadState} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// increment closes update windows by one launch. A counter that is not
// defined bounds no window (nothing to do); one that exists but cannot be
// incremented refuses the launch: a window would outlive its launches.
func (l *launchEFI) increment(t tpm.TPMSender) error {
	c, err := tpm.OpenCounter(t, l.counter)
	switch {
	case errors.Is(err, tpm.ErrNoCounter):
		fmt.Fprintf(l.e.stderr, "slkit: update counter %#08x not defined: no update window to count\n", l.counter)
		return nil
	case errors.Is(err, tpm.ErrCounter):
		fmt.Fprintf(l.e.stderr, "slkit: warning: %s: it bounds no window; not incremented\n", oneLine(err.Error()))
		return nil
	case err != nil:
		return err
	}
	if err := c.Increment(t); err != nil {
		return fmt.Errorf("update counter: %w", err)
	}
	v, err := c.Read(t)
	if err != nil {
		return err
	}
	fmt.Fprintf(l.e.stderr, "slkit: update counter %#08x incremented to %d\n", l.counter, v)
	return nil
}
