package update

import (
	"fmt"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/tpm"
)

// JournalAnchorFlag is the journal's anchor as `slkit efi queue`, `efi
// queue list`, `efi commit` and `update prepare` take it in --anchor: an
// NV index, or "none" for the state file alone.
type JournalAnchorFlag struct {
	// Index is the flag's text (tpm.AnchorIndexFlag).
	Index string
	// OpenTPM opens the TPM that holds the anchor (With); it is not
	// called for "none" nor for a bad Index.
	OpenTPM func() (*tpm.Conn, error)
}

// Options are the journal's options for the anchor on t: journal.WithAnchor
// of JournalAnchor, none for "none" or an anchor not defined yet. A bad
// Index is an input error naming --anchor.
func (a *JournalAnchorFlag) Options(t tpm.TPMSender) ([]journal.Option, error) {
	idx, err := tpm.AnchorIndexFlag("anchor", a.Index)
	if err != nil || idx == 0 {
		return nil, err
	}
	return anchorOptions(t, idx)
}

// anchorOptions are the journal's options for the anchor at idx on t.
func anchorOptions(t tpm.TPMSender, idx uint32) ([]journal.Option, error) {
	j, err := JournalAnchor(t, idx)
	if err != nil || j == nil {
		return nil, err
	}
	return []journal.Option{journal.WithAnchor(j)}, nil
}

// With runs f with the journal's options for the anchor (Options) on the
// TPM OpenTPM opens, and closes it after f. For "none" it runs f without
// options and opens no TPM. A TPM that does not open is an error, not a
// journal numbered from the state file alone: that could take a
// generation the anchor has already passed, which the pre-launch stage
// would then skip as applied.
func (a *JournalAnchorFlag) With(f func(opts []journal.Option) error) error {
	idx, err := tpm.AnchorIndexFlag("anchor", a.Index)
	if err != nil {
		return err
	}
	if idx == 0 {
		return f(nil)
	}
	t, err := a.OpenTPM()
	if err != nil {
		return fmt.Errorf("the journal's anchor (--anchor %s) cannot be read: %w (--anchor none numbers generations from the state file alone)", a.Index, err)
	}
	defer t.Close()
	opts, err := anchorOptions(t, idx)
	if err != nil {
		return err
	}
	return f(opts)
}
