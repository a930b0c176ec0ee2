package journal

import (
	"encoding/binary"
	"os"
	"reflect"
	"testing"
	"unicode/utf16"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/tpm"
)

// TestMeasuredPCRsMatchOVMF: every variable OVMF measured into a PCR in
// the captured event logs (EV_EFI_VARIABLE_BOOT in PCR 1,
// EV_EFI_VARIABLE_DRIVER_CONFIG in PCR 7; UEFI_VARIABLE_DATA decoded here
// by hand, PFP §10.4.4.2: VariableName GUID, UnicodeNameLength (UINT64),
// VariableDataLength (UINT64), the UTF-16 name, the data) is a variable
// MeasuredPCRs places in that PCR; and variables slkit queues that OVMF
// does not measure change no PCR.
func TestMeasuredPCRsMatchOVMF(t *testing.T) {
	seen := 0
	for _, f := range []string{"ovmf-q35-swtpm.bin", "ovmf-q35-swtpm-secboot.bin"} {
		b, err := os.ReadFile("../../tpm/testdata/eventlogs/" + f)
		if err != nil {
			t.Fatal(err)
		}
		l, err := tpm.ParseEventLog(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Events {
			if e.Type != tpm.EvEFIVariableBoot && e.Type != tpm.EvEFIVariableDriverConfig {
				continue
			}
			d := e.Data
			if len(d) < 32 {
				t.Fatalf("%s event %d: %d bytes", f, e.Index, len(d))
			}
			var g efi.GUID
			copy(g[:], d[:16])
			n := binary.LittleEndian.Uint64(d[16:])
			u := make([]uint16, n)
			for i := range u {
				u[i] = binary.LittleEndian.Uint16(d[32+2*i:])
			}
			c := Change{Var: efi.Name{Name: string(utf16.Decode(u)), GUID: g}}
			if got := c.MeasuredPCRs(); !reflect.DeepEqual(got, []int{e.PCR}) {
				t.Errorf("%s: OVMF measured %s into PCR %d, MeasuredPCRs says %v", f, c.Var, e.PCR, got)
			}
			seen++
		}
	}
	if seen < 8 {
		t.Fatalf("only %d variable events in the logs", seen)
	}
	for _, n := range []efi.Name{efi.BootNext, efi.Timeout, efi.OsIndications, vendorVar} {
		if got := (&Change{Var: n}).MeasuredPCRs(); got != nil {
			t.Errorf("%s: %v", n, got)
		}
	}
	es := []Entry{{Change: set(vendorVar, nil)}, {Change: set(efi.Dbx, nil)}, {Change: set(efi.BootEntry(3), nil)}, {Change: set(efi.BootOrder, nil)}}
	if got := MeasuredPCRs(es); !reflect.DeepEqual(got, []int{1, 7}) {
		t.Errorf("MeasuredPCRs = %v", got)
	}
}
