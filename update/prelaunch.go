package update

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/tpm"
)

// PhaseEFICommit is the phase marker of the pre-launch commit.
const PhaseEFICommit = "efi-commit"

// ErrFirmwareReboot stops a launch whose committed changes take effect
// only through the firmware. PreLaunch returns it only when its Reboot
// seam returns (a test's); a real reboot does not return.
var ErrFirmwareReboot = errkind.New(errkind.IO, "rebooting through the firmware for the committed EFI variable changes; nothing launched")

// PreLaunch is the pre-launch environment's half of the workflow, which
// `slkit launch` runs before it verifies the policy or measures anything
// (launch.WithCommitEFI; docs/design.md, "Flows"), while the platform is still
// in the state the pre-launch image was measured into:
//
//  1. commit the journal (journal.Commit: signature, allow-list, replay
//     and CAS checks, tries-left decremented before any write) against
//     the journal's TPM anchor (JournalAnchor: advanced once every entry
//     is final; when missing, the state file decides and the anchor is
//     defined here once no generation is pending);
//  2. when a committed change takes effect only through the firmware
//     (BootNext, OsIndications, an entry queued with --reboot) or the
//     store was full (the firmware reclaims space at boot), reboot — the
//     state file is already durable, and the anchor (or the entries'
//     fresh reads) say the journal is applied, so there is no reboot loop;
//  3. increment the update-window counter, which opens a prepared window
//     and closes it one launch later (tpm.Counter).
//
// Every anchor operation needs PCR 8 at its reset value (tpm.StagePCR),
// so PreLaunch runs before the launch measures anything. In a pre-launch
// environment relaunched by kexec (PCR 8 already extended) the anchors
// are read but not raised: the next boot's pre-launch stage does it.
//
// A journal that does not verify commits nothing and refuses the launch
// (fail closed: a tampered journal is an attack on the platform's
// settings), unless SkipBadJournal says to launch without it.
type PreLaunch struct {
	// Journal is the journal file; "" skips the commit. A journal that
	// does not exist means nothing is queued: the variables are not
	// even opened, so the same image also launches without EFI.
	Journal string
	// State is the journal's state file (default Journal + ".state").
	State string
	// Pub is the key the journal must be signed with (embedded in the
	// measured pre-launch image).
	Pub ed25519.PublicKey
	// Allow extends the variables the journal may change beyond the
	// kernel's list; Tries is the attempts per entry across boots
	// (default journal.DefaultTries).
	Allow []efi.Pattern
	Tries uint8
	// SkipBadJournal launches without committing a journal that does not
	// verify, with a warning.
	SkipBadJournal bool
	// JournalAnchor is the TPM anchor of the journal's applied generation
	// (0: none, the state file alone records progress).
	JournalAnchor uint32
	// Counter is the update-window NV counter to increment (0: none).
	Counter uint32
	// OwnerAuth is the owner authorization anchors are defined with (nil:
	// the empty one).
	OwnerAuth []byte
	// DryRun says that it would reboot instead of rebooting.
	DryRun bool

	// OpenVars opens the EFI variables (efi.OpenDir on efivarfs; tests
	// pass the efitest fake); Reboot reboots the machine.
	OpenVars func(opts ...efi.Option) (*efi.Vars, error)
	Reboot   func() error
	// Log receives one line per event ("slkit: efi: …"), Phase the phase
	// names; both may be nil.
	Log   io.Writer
	Phase func(string)
}

// Run performs the steps on t (the launch's TPM, for the counter).
func (p *PreLaunch) Run(t tpm.TPMSender) error {
	if p.Log == nil {
		p.Log = io.Discard
	}
	if p.Journal != "" {
		if p.Phase != nil {
			p.Phase(PhaseEFICommit)
		}
		res, err := p.commit(t)
		if err != nil {
			return err
		}
		if res != nil && (res.RebootRequired || res.RetryAfterReboot) {
			return p.reboot(res)
		}
	}
	if p.Counter != 0 {
		return p.increment(t)
	}
	return nil
}

func (p *PreLaunch) reboot(res *journal.Result) error {
	why := "a committed change takes effect only through the firmware (BootNext, OsIndications)"
	if !res.RebootRequired {
		why = "the variable store is full; the firmware reclaims space at boot and the rest is retried then"
	}
	if p.DryRun {
		fmt.Fprintf(p.Log, "slkit: efi: dry run: would reboot now: %s\n", why)
		return nil
	}
	fmt.Fprintf(p.Log, "slkit: efi: rebooting: %s\n", why)
	if p.Phase != nil {
		p.Phase("reboot")
	}
	if err := p.Reboot(); err != nil {
		return fmt.Errorf("reboot for the committed EFI changes: %w", err)
	}
	return ErrFirmwareReboot
}

// commit applies the journal and reports each entry.
func (p *PreLaunch) commit(t tpm.TPMSender) (*journal.Result, error) {
	state, tries := journal.StatePath(p.Journal, p.State), p.Tries
	if tries == 0 {
		tries = journal.DefaultTries
	}
	opts := []journal.Option{journal.WithAllowed(p.Allow...), journal.WithTries(tries)}
	define := false
	if p.JournalAnchor != 0 {
		a, err := tpm.OpenAnchor(t, p.JournalAnchor)
		switch {
		case errors.Is(err, tpm.ErrNoAnchor):
			define = true
		case err != nil:
			return nil, fmt.Errorf("journal anchor: %w", err)
		default:
			opts = append(opts, journal.WithAnchor(&journalAnchor{t: t, a: a}))
		}
	}
	var res *journal.Result
	var err error
	if _, serr := os.Lstat(p.Journal); errors.Is(serr, fs.ErrNotExist) {
		// No journal: the variables are not even opened (the same image
		// launches without EFI), but one that vanished unapplied is
		// reported.
		err = journal.Missing(p.Journal, state, opts...)
	} else {
		var v *efi.Vars
		if v, err = p.OpenVars(efi.WithMutable(p.Allow...)); err != nil {
			return nil, err
		}
		res, err = journal.Commit(context.Background(), v, p.Journal, state, p.Pub, opts...)
	}
	if err != nil {
		if p.SkipBadJournal && BadJournal(err) {
			fmt.Fprintf(p.Log, "slkit: efi: warning: nothing committed, launching without the journal: %s\n", oneLine(err.Error()))
			return nil, nil
		}
		return nil, fmt.Errorf("nothing committed, nothing launched: %w", err)
	}
	if define && (res == nil || !res.Journal || res.Final()) {
		if err := p.defineJournalAnchor(t, res); err != nil {
			return nil, err
		}
	}
	if res == nil || !res.Journal {
		fmt.Fprintf(p.Log, "slkit: efi: %s: nothing queued\n", p.Journal)
		return res, nil
	}
	if res.AlreadyApplied {
		fmt.Fprintf(p.Log, "slkit: efi: %s: generation %d applied already (TPM anchor)\n", p.Journal, res.Generation)
		return res, nil
	}
	for i := range res.Entries {
		fmt.Fprintf(p.Log, "slkit: efi: %s\n", res.Entries[i].String())
	}
	if err := res.Err(); err != nil {
		// Entries that failed are final (or wait for a later boot): the
		// launched OS sees them in `slkit efi queue list`.
		fmt.Fprintf(p.Log, "slkit: efi: warning: %s\n", oneLine(err.Error()))
	}
	if res.AnchorErr != nil {
		fmt.Fprintf(p.Log, "slkit: efi: warning: the journal's anchor stays below generation %d (the next boot's commit advances it): %s\n", res.Generation, oneLine(res.AnchorErr.Error()))
	}
	return res, nil
}

// defineJournalAnchor defines the journal's anchor once no generation is
// pending (res: the commit that just ran; nil or without a journal when
// nothing was queued) and raises it to the generation committed. Not
// before: a new anchor starts above every value any counter on the TPM
// has had, so defined while a generation numbered by the state file is
// still pending, it could claim that generation applied (or refuse it as
// a replay) at the next boot. In a stage that cannot define it (a
// relaunch) the commit stands on the state file alone.
func (p *PreLaunch) defineJournalAnchor(t tpm.TPMSender, res *journal.Result) error {
	a, defined, err := tpm.OpenOrDefineAnchor(t, p.JournalAnchor, tpm.WithOwnerAuth(p.OwnerAuth))
	switch {
	case errors.Is(err, tpm.ErrNotStage):
		fmt.Fprintf(p.Log, "slkit: efi: warning: the journal's anchor %#08x is not defined and cannot be here (PCR 8 is not at its reset value): committed against the state file alone\n", p.JournalAnchor)
		return nil
	case err != nil:
		return fmt.Errorf("journal anchor: %w", err)
	case defined:
		fmt.Fprintf(p.Log, "slkit: efi: journal anchor %#08x defined\n", p.JournalAnchor)
	}
	if res == nil || !res.Journal {
		return nil
	}
	// Reported with the commit's entries, as when Commit advances it.
	res.AnchorErr = (&journalAnchor{t: t, a: a}).Advance(res.Generation)
	return nil
}

// BadJournal reports whether err refused a journal for what the disk holds
// (tampered, wrong key, replayed, malformed, not allowed, not a regular
// file, gone while unapplied), not for a failure of the TPM or of
// efivarfs.
func BadJournal(err error) bool {
	for _, e := range []error{journal.ErrSignature, journal.ErrWrongKey, journal.ErrReplay, journal.ErrNotAllowed, journal.ErrMalformed, journal.ErrBadState, journal.ErrFiles, journal.ErrMissing} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// increment counts this launch on the update-window counter, defining it
// when missing: a prepared window opens at the next launch and closes one
// launch after its last. A relaunch (PCR 8 already extended) does not
// count. An index at the handle that is not slkit's counter bounds no
// window (a warning); one that is but cannot be incremented refuses the
// launch: a window would outlive its launches.
func (p *PreLaunch) increment(t tpm.TPMSender) error {
	c, _, err := tpm.OpenOrDefineAnchor(t, p.Counter, tpm.WithOwnerAuth(p.OwnerAuth))
	if err == nil {
		err = c.Increment(t)
	}
	switch {
	case errors.Is(err, tpm.ErrNotStage):
		fmt.Fprintf(p.Log, "slkit: update counter %#08x not incremented: PCR 8 is not at its reset value (a relaunch); the next boot counts\n", p.Counter)
		return nil
	case errors.Is(err, tpm.ErrAnchor) && !errors.Is(err, tpm.ErrNoAnchor):
		fmt.Fprintf(p.Log, "slkit: warning: %s: it bounds no window; not incremented\n", oneLine(err.Error()))
		return nil
	case err != nil:
		return fmt.Errorf("update counter: %w", err)
	}
	v, err := c.Read(t)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.Log, "slkit: update counter %#08x incremented to %d\n", p.Counter, v)
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
