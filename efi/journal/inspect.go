package journal

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/slkit/slkit/efi"
)

// Listing is a journal with the commit progress of each entry, for
// `slkit efi queue list`.
type Listing struct {
	Journal *Journal
	// Verified: the signature was checked against the given key.
	Verified bool
	// Committed: the state file belongs to this journal (same generation
	// and digest); otherwise every entry is shown as pending.
	Committed bool
	// Applied: the anchor says this generation was applied (WithAnchor).
	Applied bool
	States  []EntryState
}

// Inspect reads the journal and the state file. With pub it verifies the
// signature (errors as Verify); with nil it only parses. A missing journal
// is (nil, nil).
func Inspect(journalPath, statePath string, pub ed25519.PublicKey, opts ...Option) (*Listing, error) {
	o := newOptions(opts)
	b, ok, err := readFile(o.fs, journalPath, MaxBytes)
	if err != nil || !ok {
		return nil, err
	}
	var j *Journal
	if pub != nil {
		j, err = Verify(b, pub)
	} else {
		j, err = Parse(b)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", journalPath, err)
	}
	l := &Listing{Journal: j, Verified: pub != nil}
	st, err := loadState(o.fs, statePath, o.tries)
	if err != nil {
		return nil, err
	}
	if o.anchor != nil {
		applied, err := o.anchor.Generation()
		if err != nil {
			return nil, fmt.Errorf("read the journal's anchor: %w", err)
		}
		if j.Generation <= applied {
			// Applied, says the anchor: every entry final.
			l.Committed, l.Applied, l.States = true, true, newState(j, 0).Entries
			for i := range l.States {
				l.States[i].Status = Done
			}
			return l, nil
		}
	}
	if st.Generation == j.Generation && st.Journal == j.Digest && len(st.Entries) == len(j.Entries) {
		l.Committed, l.States = true, st.Entries
	} else {
		l.States = newState(j, 0).Entries
	}
	return l, nil
}

// ListedEntry is one entry of a Listing with its progress.
type ListedEntry struct {
	Seq       uint32   `json:"seq"`
	Op        string   `json:"op"`
	Var       efi.Name `json:"var"`
	Attr      string   `json:"attributes,omitempty"`
	Data      string   `json:"data,omitempty"`
	SetBits   []string `json:"set_bits,omitempty"`
	ClearBits []string `json:"clear_bits,omitempty"`
	Expect    string   `json:"expect,omitempty"`
	Reboot    bool     `json:"reboot,omitempty"`
	Status    string   `json:"status"`
	TriesLeft int      `json:"tries_left"`
	Reason    string   `json:"reason,omitempty"`
	Errno     string   `json:"errno,omitempty"`
}

func (x Expect) String() string {
	switch x.Kind {
	case ExpectAbsent:
		return "absent"
	case ExpectValue:
		return "sha256:" + hex.EncodeToString(x.SHA256[:])
	}
	return ""
}

// Entries describes each entry with its progress.
func (l *Listing) Entries() []ListedEntry {
	out := make([]ListedEntry, len(l.Journal.Entries))
	for i, e := range l.Journal.Entries {
		s := l.States[i]
		x := ListedEntry{Seq: e.Seq, Op: e.Op.String(), Var: e.Var, Expect: e.Expect.String(), Reboot: e.NeedsReboot(),
			Status: s.Status.String(), TriesLeft: int(s.TriesLeft), Errno: efi.ErrnoName(s.Errno)}
		if !l.Committed {
			x.Status, x.TriesLeft = "queued", 0
		}
		if s.Reason != ReasonNone && s.Reason != ReasonErrno {
			x.Reason = s.Reason.String()
		}
		if e.Op == OpSet || e.Op == OpAppend {
			x.Attr, x.Data = e.Attr.String(), hex.EncodeToString(e.Data)
		}
		if e.Op == OpOsIndications {
			x.SetBits, x.ClearBits = efi.OsIndicationNames(e.SetBits), efi.OsIndicationNames(e.ClearBits)
		}
		out[i] = x
	}
	return out
}

// MarshalJSON writes the generation, creation time, key id, whether the
// signature was verified and the state belongs to the journal, and the
// entries.
func (l *Listing) MarshalJSON() ([]byte, error) {
	created := ""
	if !l.Journal.Created.IsZero() {
		created = l.Journal.Created.Format("2006-01-02T15:04:05Z")
	}
	return json.Marshal(struct {
		Generation uint64        `json:"generation"`
		Created    string        `json:"created,omitempty"`
		KeyID      string        `json:"key_id"`
		Verified   bool          `json:"verified"`
		Committed  bool          `json:"committed"`
		Entries    []ListedEntry `json:"entries"`
	}{l.Journal.Generation, created, hex.EncodeToString(l.Journal.KeyID[:]), l.Verified, l.Committed, l.Entries()})
}
