package tpm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slkit/slkit/internal/errkind"
)

// The anchors' command-line inputs: NV indices given as arguments or in
// flags, and the owner authorization that defines an anchor. Every
// refusal is an input error naming the argument or flag.

// BadIndex is the refusal of value, given as what (an argument or a
// --flag), where an NV index such as example belongs.
func BadIndex(what, value string, example uint32) error {
	return errkind.Mark(errkind.Input, fmt.Errorf("%s %q: want an NV index such as %#08x", what, value, example))
}

// AnchorIndexArgs are the anchors' NV indices given as arguments
// (ParseAnchorIndex), or every anchor of slkit's (AnchorIndices) when
// none is given.
func AnchorIndexArgs(args []string) ([]uint32, error) {
	if len(args) == 0 {
		return AnchorIndices(), nil
	}
	var out []uint32
	for _, s := range args {
		n, err := ParseAnchorIndex(s)
		if err != nil {
			return nil, BadIndex("anchor", s, DefaultJournalAnchorIndex)
		}
		out = append(out, n)
	}
	return out, nil
}

// AnchorIndexFlag is an anchor's NV index given in --flag
// (ParseAnchorIndex); "none" is 0, no anchor.
func AnchorIndexFlag(flag, value string) (uint32, error) {
	if value == "none" {
		return 0, nil
	}
	n, err := ParseAnchorIndex(value)
	if err != nil {
		return 0, BadIndex("--"+flag, value, DefaultJournalAnchorIndex)
	}
	return n, nil
}

// CounterIndexFlag is an update-window counter's NV index given in
// --flag (a Go integer literal that CounterAt takes).
func CounterIndexFlag(flag, value string) (uint32, error) {
	n, err := strconv.ParseUint(value, 0, 32)
	if err != nil {
		return 0, BadIndex("--"+flag, value, DefaultCounterIndex)
	}
	if _, err := CounterAt(uint32(n)); err != nil {
		return 0, errkind.Mark(errkind.Input, fmt.Errorf("--%s: %w", flag, err))
	}
	return uint32(n), nil
}

// ReadOwnerAuth reads the owner authorization (the owner hierarchy's
// authValue, a password) from the file at path (OwnerAuthInput) without
// its trailing line ends; path "" is none, an empty authorization.
func ReadOwnerAuth(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := OwnerAuthInput.Read(path)
	if err != nil {
		return nil, err
	}
	return []byte(strings.TrimRight(string(b), "\n")), nil
}
