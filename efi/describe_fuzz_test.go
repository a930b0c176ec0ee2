package efi

import (
	"strings"
	"testing"
)

// FuzzDescribe feeds variable data read from the firmware (untrusted) to
// Describe under each name it decodes: it must never panic, and a decoded
// description names what it decoded.
func FuzzDescribe(f *testing.F) {
	for _, seed := range [][]byte{{0x01, 0x00, 0x10, 0x00}, {0x03}, {0x01, 0, 0, 0, 0, 0, 0, 0},
		{0x01, 0, 0, 0, 0x04, 0x00, 'L', 0, 0, 0, 0x7f, 0xff, 0x04, 0x00}} {
		f.Add(seed)
	}
	names := []string{"BootOrder", "DriverOrder", "BootNext", "Timeout", "OsIndications", "OsIndicationsSupported", "Boot0001"}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, n := range names {
			d := Describe(&Variable{Name: Name{Name: n, GUID: GlobalGUID}, Data: data})
			if d != "" && !strings.HasPrefix(d, "order: ") && !strings.HasPrefix(d, "value: ") &&
				!strings.HasPrefix(d, "bits: ") && !strings.HasPrefix(d, "load option: ") {
				t.Fatalf("%s: %q", n, d)
			}
		}
	})
}
