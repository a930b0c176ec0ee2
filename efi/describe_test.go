package efi

import (
	"strings"
	"testing"
)

// TestDescribe decodes values laid out by hand from the specification
// (UEFI 2.10 §3.3 and §3.1.3, all little-endian).
func TestDescribe(t *testing.T) {
	loadOption := []byte{
		0x01, 0x00, 0x00, 0x00, // Attributes: LOAD_OPTION_ACTIVE
		0x04, 0x00, // FilePathListLength
		'L', 0, 'x', 0, 0, 0, // Description "Lx", UTF-16, NUL-terminated
		0x7f, 0xff, 0x04, 0x00, // FilePathList: an end-of-path node
		0xaa, 0xbb, // OptionalData
	}
	vendor := GUID{1}
	for _, c := range []struct {
		name string
		guid GUID
		data []byte
		want string
	}{
		{"BootOrder", GlobalGUID, []byte{0x01, 0x00, 0x10, 0x00}, "order: 0001,0010"},
		{"DriverOrder", GlobalGUID, []byte{0xff, 0xff}, "order: FFFF"},
		{"BootNext", GlobalGUID, []byte{0x03, 0x00}, "value: 0003 (3)"},
		{"Timeout", GlobalGUID, []byte{0x0a, 0x00}, "value: 000A (10)"},
		{"OsIndications", GlobalGUID, []byte{0x01, 0, 0, 0, 0, 0, 0, 0}, "bits: 0x1 boot-to-fw-ui"},
		{"Boot0001", GlobalGUID, loadOption, `load option: "Lx" attributes 0x1, 4 bytes of device path, 2 bytes of optional data`},
		{"BootOrder", GlobalGUID, []byte{0x01}, ""},     // odd length: not a UINT16 list
		{"OsIndications", GlobalGUID, []byte{0x01}, ""}, // not a UINT64
		{"BootOrder", vendor, []byte{0x01, 0x00}, ""},   // not the global GUID
		{"SecureBoot", GlobalGUID, []byte{0x01}, ""},    // not decoded
		{"BootXXXX1", GlobalGUID, loadOption, ""},       // not Boot####
	} {
		x := &Variable{Name: Name{Name: c.name, GUID: c.guid}, Data: c.data}
		if got := Describe(x); got != c.want {
			t.Errorf("%s % x: %q, want %q", c.name, c.data, got, c.want)
		}
	}
}

// TestVariableText: the lines of `slkit efi vars get` and `efi vars
// list`, laid out by hand.
func TestVariableText(t *testing.T) {
	order := &Variable{Name: BootOrder, Attr: 0x7, Data: []byte{0x01, 0x00, 0x02, 0x00}}
	want := "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c\nattributes: NV|BS|RT (0x00000007)\nsize: 4\ndata: 01000200\norder: 0001,0002\n"
	if got := order.Text(); got != want {
		t.Errorf("Text:\n%q\nwant\n%q", got, want)
	}
	vendor := &Variable{Name: Name{"Thing", GUID{1}}, Attr: 0x3, Data: []byte{0xff}}
	want = "Thing-" + (GUID{1}).String() + "\nattributes: NV|BS (0x00000003)\nsize: 1\ndata: ff\n"
	if got := vendor.Text(); got != want {
		t.Errorf("Text:\n%q\nwant\n%q", got, want)
	}
	// Name in 60 columns, attributes in 12, size right-aligned in 6.
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-len(s)) }
	want = pad(BootOrder.String(), 60) + " " + pad("NV|BS|RT", 12) + "      4\n" +
		pad("Thing-"+(GUID{1}).String(), 60) + " " + pad("NV|BS", 12) + "      1\n"
	if got := ListText([]*Variable{order, vendor}); got != want {
		t.Errorf("ListText:\n%q\nwant\n%q", got, want)
	}
}
