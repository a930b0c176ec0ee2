package update

import (
	"errors"
	"fmt"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/tpm"
)

// journalAnchor is the TPM anchor holding the journal's applied
// generation (tpm.Anchor), as journal.Anchor.
type journalAnchor struct {
	t tpm.TPMSender
	a *tpm.Anchor
}

// Generation reads the anchor. PreLaunch defines it only once no
// generation is pending (defineJournalAnchor), so its value decides.
func (j *journalAnchor) Generation() (uint64, error) {
	return j.a.Read(j.t)
}

// Advance raises the anchor to gen: at most journal.MaxEntries increments
// (Commit refuses journals further ahead), only in the pre-launch stage.
func (j *journalAnchor) Advance(gen uint64) error {
	v, err := j.a.RaiseTo(j.t, gen, journal.MaxEntries)
	if err == nil && v < gen {
		err = fmt.Errorf("%w: anchor %#08x reached %d, not %d", tpm.ErrAnchor, j.a.Index, v, gen)
	}
	return err
}

// JournalAnchor opens the journal's anchor at index for the launched OS
// (`slkit efi queue`, `update prepare`): Enqueue takes its generations
// from it. A missing anchor is (nil, nil): the pre-launch stage defines it
// at its next commit, and until then the state file numbers generations.
func JournalAnchor(t tpm.TPMSender, index uint32) (journal.Anchor, error) {
	a, err := tpm.OpenAnchor(t, index)
	switch {
	case err == nil:
		return &journalAnchor{t: t, a: a}, nil
	case isMissing(err):
		return nil, nil
	}
	return nil, err
}

// isMissing reports an anchor that is not defined, or defined and never
// written (its value means nothing yet).
func isMissing(err error) bool { return errors.Is(err, tpm.ErrNoAnchor) }
