package tpm

import (
	"errors"
	"fmt"
	"strconv"
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

// AnchorIndices are the indices of slkit's anchors (AnchorNames), in
// order.
func AnchorIndices() []uint32 {
	out := make([]uint32, 0, len(AnchorNames))
	for _, a := range AnchorNames {
		out = append(out, a.Index)
	}
	return out
}

// ParseAnchorIndex parses an anchor's NV index (a Go integer literal such
// as 0x0180534d) and refuses one that is not an NV index handle
// (AnchorAt).
func ParseAnchorIndex(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 0, 32)
	if err == nil {
		_, err = AnchorAt(uint32(n))
	}
	return uint32(n), err
}

// AnchorStates are the states of several anchors, as `slkit anchor
// status` reports them.
type AnchorStates []*AnchorState

// ReadAnchorStates reads the anchor at each index in turn
// (ReadAnchorState).
func ReadAnchorStates(t TPMSender, indices []uint32) (AnchorStates, error) {
	var out AnchorStates
	for _, i := range indices {
		st, err := ReadAnchorState(t, i)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Text is a line per anchor (AnchorState.String).
func (s AnchorStates) Text() string {
	var b strings.Builder
	for _, st := range s {
		b.WriteString(st.String() + "\n")
	}
	return b.String()
}

// DefineAnchorLine defines the anchor at index (DefineAnchor) and says in
// a line what became of it: defined and written, or, outside the
// pre-launch stage (ErrNotStage), defined for the next pre-launch stage
// to write. Any other failure is the error.
func DefineAnchorLine(t TPMSender, index uint32, opts ...NVOption) (string, error) {
	_, err := DefineAnchor(t, index, opts...)
	switch {
	case err == nil:
		return fmt.Sprintf("%#08x %s: defined and written", index, AnchorName(index)), nil
	case errors.Is(err, ErrNotStage):
		return fmt.Sprintf("%#08x %s: defined; the next pre-launch stage writes it", index, AnchorName(index)), nil
	}
	return "", err
}
