package launch

import "testing"

func TestEntryFromCmdline(t *testing.T) {
	for cmdline, want := range map[string]string{
		"console=ttyS0 slkit.entry=demo-verbose quiet": "demo-verbose",
		"slkit.entry=a slkit.entry=b":                  "a",
		"console=ttyS0 xslkit.entry=x":                 "",
		"slkit.entry":                                  "",
		"slkit.entry= quiet":                           "",
		"":                                             "",
	} {
		if got := EntryFromCmdline(cmdline); got != want {
			t.Errorf("%q: %q, want %q", cmdline, got, want)
		}
	}
}
