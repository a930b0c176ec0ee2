package tpm_test

import (
	"slices"
	"testing"

	"github.com/slkit/slkit/tpm"
)

func TestParsePCRList(t *testing.T) {
	for in, want := range map[string][]int{
		"":         nil,
		"7":        {7},
		"9,8,8":    {8, 9},
		"0-3,14":   {0, 1, 2, 3, 14},
		" 8 , 9 ":  {8, 9},
		"17-18,17": {17, 18},
		"23":       {23},
	} {
		got, err := tpm.ParsePCRList(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"8,,9", ",8", "8,", ",", "8 9", "24", "-1", "3-", "-3", "5-4", "x", "0x7"} {
		if got, err := tpm.ParsePCRList(in); err == nil {
			t.Errorf("%q: accepted as %v", in, got)
		}
	}
}
