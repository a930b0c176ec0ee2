package launch

import "strings"

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
