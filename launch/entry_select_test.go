package launch

import (
	"os"
	"path/filepath"
	"testing"
)

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

// TestEntryFromFile: the name without white space; a missing file is "".
func TestEntryFromFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "entry")
	os.WriteFile(p, []byte(" demo\n"), 0o600)
	if got, err := EntryFromFile(p); got != "demo" || err != nil {
		t.Errorf("a file: %q %v", got, err)
	}
	if got, err := EntryFromFile(filepath.Join(dir, "missing")); got != "" || err != nil {
		t.Errorf("a missing file: %q %v", got, err)
	}
}
