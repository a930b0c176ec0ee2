package tpm

import (
	"errors"
	"fmt"
	"strings"
)

// AnchorNames are slkit's anchors by name, in the order `slkit anchor
// status` lists them.
var AnchorNames = []struct {
	Name  string
	Index uint32
}{
	{"journal", DefaultJournalAnchorIndex},
	{"policy", DefaultPolicyAnchorIndex},
	{"update-counter", DefaultCounterIndex},
}

// AnchorName is the name of slkit's anchor at index, "anchor" for any
// other index.
func AnchorName(index uint32) string {
	for _, a := range AnchorNames {
		if a.Index == index {
			return a.Name
		}
	}
	return "anchor"
}

// AnchorState is an anchor's value, or why it has none.
type AnchorState struct {
	Index uint32  `json:"index"`
	Name  string  `json:"name"`
	Value *uint64 `json:"value,omitempty"`
	// Problem says why there is no value (not defined, never written,
	// not slkit's).
	Problem string `json:"problem,omitempty"`
}

// ReadAnchorState reads the anchor at index (OpenAnchor, Anchor.Read): its
// value, or, for an ErrAnchor problem, why it has none; any other failure
// is the error.
func ReadAnchorState(t TPMSender, index uint32) (*AnchorState, error) {
	st := &AnchorState{Index: index, Name: AnchorName(index)}
	a, err := OpenAnchor(t, index)
	if err == nil {
		var v uint64
		if v, err = a.Read(t); err == nil {
			st.Value = &v
		}
	}
	if err != nil {
		if !errors.Is(err, ErrAnchor) {
			return nil, err
		}
		st.Problem = strings.TrimPrefix(strings.Join(strings.Fields(err.Error()), " "), ErrAnchor.Error()+": ")
	}
	return st, nil
}

// String is the state in one line: index, name, then the value or the
// problem.
func (s *AnchorState) String() string {
	if s.Value != nil {
		return fmt.Sprintf("%#08x %-14s %d", s.Index, s.Name, *s.Value)
	}
	return fmt.Sprintf("%#08x %-14s %s", s.Index, s.Name, s.Problem)
}
