package tpm

import (
	"errors"
	"slices"
	"testing"
)

// TestParseBanks: names in any spelling ParseAlg takes, each once in the
// order given; unknown names and banks without a hash refused.
func TestParseBanks(t *testing.T) {
	got, err := ParseBanks([]string{"sha384", "SHA-1", "0x000c", "sha1", "sha256"})
	if want := []Alg{0x000C, 0x0004, 0x000B}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseBanks = %v %v, want %v", got, err, want)
	}
	if got, err := ParseBanks(nil); got != nil || err != nil {
		t.Errorf("no names: %v %v", got, err)
	}
	if _, err := ParseBanks([]string{"sha256", "md5"}); !errors.Is(err, ErrUnknownAlg) {
		t.Errorf("md5: %v", err)
	}
	if _, err := ParseBanks([]string{"sm3_256"}); !errors.Is(err, ErrUnsupportedAlg) {
		t.Errorf("sm3: %v", err)
	}
	if want := []Alg{0x0004, 0x000B, 0x000C, 0x000D}; !slices.Equal(CommonBanks, want) {
		t.Errorf("CommonBanks %v, want %v", CommonBanks, want)
	}
}

// TestHashableAlgs: the log's banks in header order, without those slkit
// has no hash for (SM3 here).
func TestHashableAlgs(t *testing.T) {
	l, err := NewEventLog([]Alg{SHA384, SM3_256, SHA1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.HashableAlgs(), []Alg{0x000C, 0x0004}; !slices.Equal(got, want) {
		t.Errorf("HashableAlgs = %v, want %v", got, want)
	}
}
