package efi

import (
	"fmt"
	"strings"
)

// Describe decodes the value of a globally defined variable slkit knows
// (UEFI 2.10 §3.3): BootOrder and DriverOrder (UINT16 list), BootNext,
// BootCurrent and Timeout (UINT16), OsIndications and
// OsIndicationsSupported (UINT64 bits), Boot#### (EFI_LOAD_OPTION,
// §3.1.3). It returns "" for any other variable, or a value that does not
// decode.
func Describe(x *Variable) string {
	if x.Name.GUID != GlobalGUID {
		return ""
	}
	switch name := x.Name.Name; {
	case name == "BootOrder" || name == "DriverOrder":
		if o, err := ParseBootOrder(x.Data); err == nil {
			s := make([]string, len(o))
			for i, n := range o {
				s[i] = fmt.Sprintf("%04X", n)
			}
			return "order: " + strings.Join(s, ",")
		}
	case name == "BootNext" || name == "BootCurrent" || name == "Timeout":
		if n, err := ParseUint16(x.Data); err == nil {
			return fmt.Sprintf("value: %04X (%d)", n, n)
		}
	case name == "OsIndications" || name == "OsIndicationsSupported":
		if n, err := ParseUint64(x.Data); err == nil {
			return fmt.Sprintf("bits: %#x %s", n, strings.Join(OsIndicationNames(n), ","))
		}
	case strings.HasPrefix(name, "Boot") && len(name) == 8:
		if lo, err := ParseLoadOption(x.Data); err == nil {
			return fmt.Sprintf("load option: %q attributes %#x, %d bytes of device path, %d bytes of optional data", lo.Description, lo.Attributes, len(lo.FilePath), len(lo.OptionalData))
		}
	}
	return ""
}
