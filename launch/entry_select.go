package launch

import (
	"strings"

	"github.com/slkit/slkit/internal/fsys"
)

// CmdlineEntryParam selects the policy entry on the running kernel's
// command line (slkit.entry=NAME) when `slkit launch` is given no --entry:
// the same pre-launch image can then boot another entry of its policy.
const CmdlineEntryParam = "slkit.entry"

// EntryFromCmdline returns NAME of the first slkit.entry=NAME on a kernel
// command line, "" when there is none.
func EntryFromCmdline(cmdline string) string {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, CmdlineEntryParam+"="); ok {
			return v
		}
	}
	return ""
}

// MaxEntryFile bounds an entry file (EntryFromFile).
const MaxEntryFile = 256

// EntryFromFile returns the entry name the file at path holds, without
// surrounding white space (`slkit launch --entry-file`: a file on the
// shared disk the launched OS writes), "" when the file does not exist.
// The file is read as fsys.ReadOptional reads it: a regular file of at
// most MaxEntryFile bytes, else an *fsys.InputError.
func EntryFromFile(path string) (string, error) {
	b, err := fsys.ReadOptional(path, MaxEntryFile)
	return strings.TrimSpace(string(b)), err
}

// EntrySources are where `slkit launch` takes the policy entry's name
// from (its flags --entry and --entry-file, and the running kernel's
// command line), for Entry.
type EntrySources struct {
	// Name is the name given (--entry; "" for none).
	Name string
	// Cmdline returns the running kernel's command line (nil for none);
	// it is called only without Name.
	Cmdline func() string
	// File is the entry file (--entry-file: EntryFromFile; "" for none).
	File string
}

// Entry is the entry's name: Name, else the kernel command line's
// slkit.entry=NAME (EntryFromCmdline), else the name in File; "" for
// the policy's first entry. Only a File that cannot be read fails.
func (s EntrySources) Entry() (string, error) {
	entry := s.Name
	if entry == "" && s.Cmdline != nil {
		entry = EntryFromCmdline(s.Cmdline())
	}
	if entry == "" && s.File != "" {
		return EntryFromFile(s.File)
	}
	return entry, nil
}
