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

// TestEntrySources: --entry first, then slkit.entry= on the kernel
// command line, then the entry file; the command line is not read when
// a name is given; an unreadable file fails.
func TestEntrySources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "entry")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmdline := func(s string) func() string { return func() string { return s } }
	for _, c := range []struct {
		name string
		src  EntrySources
		want string
	}{
		{"nothing", EntrySources{}, ""},
		{"name", EntrySources{Name: "given", Cmdline: func() string { t.Error("command line read"); return "" }, File: file}, "given"},
		{"command line", EntrySources{Cmdline: cmdline("quiet slkit.entry=from-cmdline"), File: file}, "from-cmdline"},
		{"command line without the parameter", EntrySources{Cmdline: cmdline("quiet"), File: file}, "from-file"},
		{"file", EntrySources{File: file}, "from-file"},
		{"missing file", EntrySources{File: filepath.Join(dir, "missing")}, ""},
	} {
		if got, err := c.src.Entry(); got != c.want || err != nil {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if got, err := (EntrySources{File: dir}).Entry(); err == nil || got != "" {
		t.Errorf("a directory as the file: %q, %v; want an error", got, err)
	}
	// An entry file given as "" names nothing, as no file does.
	if got, err := EntryFromFile(""); got != "" || err != nil {
		t.Errorf(`EntryFromFile(""): %q, %v`, got, err)
	}
}
