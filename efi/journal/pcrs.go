package journal

import (
	"sort"

	"github.com/slkit/slkit/efi"
)

// bootPatterns are the variables the firmware measures into PCR 1 as
// EV_EFI_VARIABLE_BOOT (TCG PC Client PFP §3.3.4.2, §10.4.4): BootOrder and
// the Boot#### options, and DriverOrder/Driver#### alike.
var bootPatterns = []efi.Pattern{
	{Name: "BootOrder", GUID: efi.GlobalGUID}, {Name: "Boot####", GUID: efi.GlobalGUID},
	{Name: "DriverOrder", GUID: efi.GlobalGUID}, {Name: "Driver####", GUID: efi.GlobalGUID},
}

// MeasuredPCRs is where the firmware measures the change's variable at
// the next boot, so that a secret sealed to those PCRs no longer unseals
// after it: PCR 1 for BootOrder, Boot####, DriverOrder, Driver####; PCR 7
// for SecureBoot, PK, KEK, db, dbx, dbt, dbr (EV_EFI_VARIABLE_DRIVER_CONFIG,
// PFP §3.3.4.8). Everything else — vendor variables, BootNext, Timeout,
// OsIndications — is not measured by the firmware (edk2/OVMF) and changes
// no PCR. A prediction of the new values would extend this one place.
func (c *Change) MeasuredPCRs() []int {
	if c.Var == efi.SecureBoot || efi.IsSignatureDatabase(c.Var) {
		return []int{7}
	}
	for _, p := range bootPatterns {
		if p.Match(c.Var) {
			return []int{1}
		}
	}
	return nil
}

// MeasuredPCRs lists, ascending and once each, the PCRs the entries'
// changes are measured into (Change.MeasuredPCRs).
func MeasuredPCRs(es []Entry) []int {
	seen := map[int]bool{}
	var out []int
	for i := range es {
		for _, p := range es[i].MeasuredPCRs() {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sort.Ints(out)
	return out
}
