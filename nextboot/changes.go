package nextboot

import (
	"fmt"
	"strings"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
)

// Change is a variable change the next boot will see, with a label for
// messages ("journal J entry 3").
type Change struct {
	Label string
	journal.Change
}

// PendingChanges returns the journal entries a commit has not finished
// yet (the ones the pre-launch environment will write before the next
// firmware boot), labelled with name.
func PendingChanges(l *journal.Listing, name string) []Change {
	var out []Change
	for i, e := range l.Journal.Entries {
		if l.Committed && l.States[i].Status.Final() {
			continue
		}
		out = append(out, Change{Label: fmt.Sprintf("%s entry %d (%s %s)", name, e.Seq, e.Op, e.Var.Name), Change: e.Change})
	}
	return out
}

// OsIndications bits with an effect on the next boot (UEFI 2.10 §8.5.4).
const (
	osIndBootToFWUI           = 0x0001
	osIndFileCapsuleDelivery  = 0x0004
	osIndCapsuleResultVarSupp = 0x0008
	osIndStartOSRecovery      = 0x0020
	osIndStartPlatformRecov   = 0x0040
)

// kind is how a variable reaches the measurements.
type kind int

const (
	kindNone       kind = iota // not measured (a vendor variable the log does not show)
	kindSecureBoot             // PCR 7 driver config: PK, KEK, db, dbx
	kindBoot                   // PCR 1: BootOrder, Boot####
)

// classify decides what a change does to the measurements: which kind of
// variable it touches, which PCRs it makes unpredictable (with why), or an
// error for a change slkit does not model at all. measured reports
// whether the current log shows the variable measured.
func classify(c *Change, measured func(efi.Name) bool) (kind, map[int]string, error) {
	n := c.Var
	bad := func(why string) (kind, map[int]string, error) {
		return kindNone, nil, fmt.Errorf("%w: %s: %s", ErrUnpredictable, c.Label, why)
	}
	switch {
	case n == efi.SecureBoot || n == efi.SetupMode || n == efi.AuditMode || n == efi.DeployedMode:
		return bad("a read-only variable the firmware sets itself")
	case n == efi.BootNext:
		return bad("BootNext makes the next boot start another boot option")
	case n == efi.OsIndications:
		set := c.SetBits
		if c.Op != journal.OpOsIndications {
			set = ^uint64(0) // a raw write may set anything
		}
		if set&(osIndBootToFWUI|osIndStartOSRecovery|osIndStartPlatformRecov) != 0 {
			return bad("OsIndications: the next boot goes to the firmware's setup or recovery, not to the boot image")
		}
		if set&osIndFileCapsuleDelivery != 0 {
			why := "OsIndications file-capsule-delivery: a capsule may update the firmware"
			return kindNone, map[int]string{0: why, 2: why}, nil
		}
		return kindNone, nil, nil
	case n.GUID == efi.GlobalGUID && (n.Name == "DriverOrder" || isNumbered(n.Name, "Driver") || isNumbered(n.Name, "SysPrep") || n.Name == "SysPrepOrder"):
		return bad("driver and SysPrep options load code the firmware measures (PCR 2/4)")
	case n == efi.BootOrder || (n.GUID == efi.GlobalGUID && isNumbered(n.Name, "Boot")):
		return kindBoot, nil, nil
	case n == efi.PK:
		return kindSecureBoot, nil, nil // a change of mode is found when the values are known
	case n == efi.KEK || n == efi.Db || n == efi.Dbx:
		return kindSecureBoot, nil, nil
	case n.GUID == efi.ImageSecurityGUID && (n.Name == "dbt" || n.Name == "dbr"):
		why := n.Name + " changes are not modelled (edk2 measures dbt into PCR 7 only when present)"
		return kindNone, map[int]string{7: why}, nil
	case measured(n):
		return bad("the firmware measures this variable (the event log shows it) in a way slkit does not model")
	}
	return kindNone, nil, nil
}

// isNumbered reports whether s is prefix followed by four hex digits.
func isNumbered(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != 4 {
		return false
	}
	for _, r := range rest {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
