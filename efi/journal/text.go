package journal

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/slkit/slkit/efi"
)

// Text describes the listing of the journal at journalPath (state file
// statePath): a header line, then, with entries, one line per entry.
func (l *Listing) Text(journalPath, statePath string, entries bool) string {
	sig := "signature not checked (give --pub)"
	if l.Verified {
		sig = "signature verified"
	}
	progress := "commit not started"
	if l.Committed {
		progress = "commit state " + statePath
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: generation %d, %d entries, key %s, %s, %s\n", journalPath, l.Journal.Generation, len(l.Journal.Entries),
		hex.EncodeToString(l.Journal.KeyID[:]), sig, progress)
	if entries {
		for _, x := range l.Entries() {
			fmt.Fprintln(&b, x.String())
		}
	}
	return b.String()
}

// String is the entry in one line: sequence number, operation, status,
// variable, then what it writes and expects, and why it failed.
func (x ListedEntry) String() string {
	line := fmt.Sprintf("%3d %-13s %-10s %s", x.Seq, x.Op, x.Status, x.Var)
	if x.Data != "" {
		line += fmt.Sprintf(" %s %d bytes", x.Attr, len(x.Data)/2)
	}
	if x.SetBits != nil {
		line += " set " + strings.Join(x.SetBits, ",")
	}
	if x.ClearBits != nil {
		line += " clear " + strings.Join(x.ClearBits, ",")
	}
	if x.Expect != "" {
		line += " if " + x.Expect
	}
	if x.Reason != "" || x.Errno != "" {
		line += " (" + strings.Trim(x.Reason+" "+x.Errno, " ") + ")"
	}
	return line
}

// Text describes the commit of the journal at journalPath: a line per
// entry, then whether a firmware reboot is needed.
func (r *Result) Text(journalPath string) string {
	if !r.Journal {
		return journalPath + ": nothing queued\n"
	}
	if r.AlreadyApplied {
		return fmt.Sprintf("%s: generation %d applied already (TPM anchor)\n", journalPath, r.Generation)
	}
	var b strings.Builder
	for i := range r.Entries {
		fmt.Fprintln(&b, r.Entries[i].String())
	}
	switch {
	case r.RebootRequired:
		fmt.Fprintln(&b, "firmware reboot required for the changes to take effect")
	case r.RetryAfterReboot:
		fmt.Fprintln(&b, "variable store full: the rest is retried after the next reboot")
	}
	return b.String()
}

// Queued is what `slkit efi queue` reports: the change queued and the
// journal after it (its fields in the order of its JSON names).
type Queued struct {
	Entries    int      `json:"entries"`
	Generation uint64   `json:"generation"`
	Journal    string   `json:"journal"`
	Op         string   `json:"op"`
	Var        efi.Name `json:"var"`
}

// Queued is the report of queueing ch into j, the journal at path.
func (j *Journal) Queued(path string, ch Change) *Queued {
	return &Queued{Entries: len(j.Entries), Generation: j.Generation, Journal: path, Op: ch.Op.String(), Var: ch.Var}
}

// Text is the report in one line.
func (q *Queued) Text() string {
	return fmt.Sprintf("queued %s %s: %s generation %d, %d entries\n", q.Op, q.Var, q.Journal, q.Generation, q.Entries)
}
