package update

import (
	"crypto/ed25519"
	"fmt"

	"github.com/slkit/slkit/efi/journal"
)

// Pending describes the journal an update will commit.
type Pending struct {
	Generation uint64 `json:"generation"`
	// Entries is the number of entries, Pending those not final yet.
	Entries int `json:"entries"`
	Pending int `json:"pending"`
	// Verified: the signature was checked against the given key.
	Verified bool `json:"verified"`
	// Reboot lists the pending entries that take effect only through a
	// firmware reboot (BootNext, OsIndications bits, --reboot), as
	// "seq op var".
	Reboot []string `json:"reboot,omitempty"`
	// PCRs are those the pending changes are measured into at the next
	// boot (journal.MeasuredPCRs).
	PCRs []int `json:"pcrs,omitempty"`
}

// CheckJournal reads the journal the update is to commit and its state:
// with pub, its signature is verified (the pre-launch environment would
// refuse it otherwise: better to know now). A missing journal, or one
// whose entries are all committed, is ErrNoJournal.
func CheckJournal(journalPath, statePath string, pub ed25519.PublicKey, opts ...journal.Option) (*Pending, error) {
	l, err := journal.Inspect(journalPath, statePath, pub, opts...)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("%w: no journal at %s (queue changes with `slkit efi queue` first)", ErrNoJournal, journalPath)
	}
	p := &Pending{Generation: l.Journal.Generation, Entries: len(l.Journal.Entries), Verified: l.Verified}
	var pending []journal.Entry
	for i, e := range l.Journal.Entries {
		if l.Committed && l.States[i].Status.Final() {
			continue
		}
		p.Pending++
		pending = append(pending, e)
		if e.NeedsReboot() {
			p.Reboot = append(p.Reboot, fmt.Sprintf("%d %s %s", e.Seq, e.Op, e.Var))
		}
	}
	p.PCRs = journal.MeasuredPCRs(pending)
	if p.Pending == 0 {
		return nil, fmt.Errorf("%w: every entry of %s (generation %d) is committed already", ErrNoJournal, journalPath, p.Generation)
	}
	return p, nil
}
