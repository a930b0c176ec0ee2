package clikit

import (
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// testApp has the shapes of slkit's commands the cases need: a global
// flag with a value, nested commands, bool, string and repeatable flags.
func testApp() *cli.App {
	return &cli.App{
		Flags: []cli.Flag{&cli.StringFlag{Name: "tpm"}},
		Commands: []*cli.Command{
			Group("eventlog", "", Cmd("replay", "", nil, &cli.BoolFlag{Name: "against-tpm"}, &cli.BoolFlag{Name: "json"})),
			Cmd("unseal", "", nil, &cli.StringFlag{Name: "out"}, &cli.BoolFlag{Name: "pin"}),
			Group("pcr", "", Cmd("read", "", nil, &cli.StringSliceFlag{Name: "bank"})),
		},
	}
}

func TestInterspersedFlags(t *testing.T) {
	app := testApp()
	for _, tc := range []struct{ in, want string }{
		{"slkit --tpm X eventlog replay f.bin --against-tpm --json", "slkit --tpm X eventlog replay --against-tpm --json f.bin"},
		{"slkit unseal s.json --out o --pin", "slkit unseal --out o --pin s.json"},
		{"slkit unseal --out=o s.json", "slkit unseal --out=o s.json"},
		{"slkit pcr read 7 --bank sha1 8", "slkit pcr read --bank sha1 7 8"},
		{"slkit unseal -- --weird-name", "slkit unseal -- --weird-name"},
		{"slkit nosuch --x y", "slkit nosuch --x y"},
	} {
		got := Interspersed(app, strings.Fields(tc.in))
		if !reflect.DeepEqual(got, strings.Fields(tc.want)) {
			t.Errorf("%q -> %q, want %q", tc.in, strings.Join(got, " "), tc.want)
		}
	}
}
