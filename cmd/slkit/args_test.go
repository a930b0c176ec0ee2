package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestInterspersedFlags(t *testing.T) {
	app := newApp(newEnv())
	for _, tc := range []struct{ in, want string }{
		{"slkit --tpm X eventlog replay f.bin --against-tpm --json", "slkit --tpm X eventlog replay --against-tpm --json f.bin"},
		{"slkit unseal s.json --out o --pin", "slkit unseal --out o --pin s.json"},
		{"slkit unseal --out=o s.json", "slkit unseal --out=o s.json"},
		{"slkit pcr read 7 --bank sha1 8", "slkit pcr read --bank sha1 7 8"},
		{"slkit unseal -- --weird-name", "slkit unseal -- --weird-name"},
		{"slkit nosuch --x y", "slkit nosuch --x y"},
	} {
		got := interspersed(app, strings.Fields(tc.in))
		if !reflect.DeepEqual(got, strings.Fields(tc.want)) {
			t.Errorf("%q -> %q, want %q", tc.in, strings.Join(got, " "), tc.want)
		}
	}
}
