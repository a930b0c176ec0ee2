package efi

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"syscall"
	"testing"
)

func TestWellKnownGUIDs(t *testing.T) {
	// EFI_GLOBAL_VARIABLE {0x8BE4DF61,0x93CA,0x11d2,{0xAA,0x0D,0x00,0xE0,0x98,0x03,0x2B,0x8C}}
	// in wire order: Data1..Data3 little-endian (UEFI 2.10 Appendix A).
	want := []byte{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}
	if !bytes.Equal(GlobalGUID[:], want) {
		t.Fatalf("GlobalGUID = % x", GlobalGUID[:])
	}
	// Each well-known GUID against its registry form, parsed here: the
	// field-by-field table and the text must be the same GUID.
	for _, c := range []struct {
		g    GUID
		text string
	}{
		{GlobalGUID, "8be4df61-93ca-11d2-aa0d-00e098032b8c"},
		{ImageSecurityGUID, "d719b2cb-3d3a-4596-a3bc-dad00e67656f"},
		{LinuxCrashGUID, "cfc8fc79-be2e-4ddc-97f0-9f98bfe298a0"},
		{CertPKCS7GUID, "4aafd29d-68df-49ee-8aa9-347d375665a7"},
		{CertX509GUID, "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"},
		{CertSHA256GUID, "c1c41626-504c-4092-aca9-41f936934328"},
		{CertX509SHA256GUID, "3bd2a492-96c0-4079-b420-fcf98ef103ed"},
	} {
		p, err := ParseGUID(c.text)
		if err != nil || p != c.g || c.g.String() != c.text {
			t.Errorf("%s: table % x, parsed % x (%v)", c.text, c.g[:], p[:], err)
		}
	}
	// EFI_CERT_TYPE_PKCS7_GUID {0x4aafd29d,0x68df,0x49ee,{0x8a,0xa9,0x34,0x7d,0x37,0x56,0x65,0xa7}}
	if hex.EncodeToString(CertPKCS7GUID[:]) != "9dd2af4adf68ee498aa9347d375665a7" {
		t.Fatalf("CertPKCS7GUID = %x", CertPKCS7GUID[:])
	}
	u, err := ParseGUID("8BE4DF61-93CA-11D2-AA0D-00E098032B8C")
	if err != nil || u != GlobalGUID || u.String() != "8be4df61-93ca-11d2-aa0d-00e098032b8c" {
		t.Fatalf("upper case: %v %v %s", err, u, u)
	}
	for _, bad := range []string{"", "8be4df61-93ca-11d2-aa0d-00e098032b8", "8be4df61x93ca-11d2-aa0d-00e098032b8c", "8be4df61-93ca-11d2-aa0d-00e098032b8g"} {
		if _, err := ParseGUID(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseGUID(%q) = %v", bad, err)
		}
	}
}

func TestParseName(t *testing.T) {
	n, err := ParseName("BootOrder-8BE4DF61-93CA-11D2-AA0D-00E098032B8C")
	if err != nil || n != BootOrder || n.String() != "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c" {
		t.Fatalf("%v %v", n, err)
	}
	if BootEntry(0x1f).Name != "Boot001F" {
		t.Fatal(BootEntry(0x1f))
	}
	if n, err := ParseName("a-b-" + GlobalGUID.String()); err != nil || n.Name != "a-b" {
		t.Fatalf("dashes in the name: %v %v", n, err)
	}
	for _, bad := range []string{"BootOrder", "-" + GlobalGUID.String(), "a/b-" + GlobalGUID.String(), "x\x00-" + GlobalGUID.String(),
		"BootOrder_" + GlobalGUID.String(), "\U0001F600-" + GlobalGUID.String(), "\xff-" + GlobalGUID.String()} {
		if _, err := ParseName(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseName(%q) = %v", bad, err)
		}
	}
	// StoredSize: 60-byte header + UTF-16 "V\0" (4) + data.
	if got := (Name{"V", GlobalGUID}).StoredSize(10); got != 74 {
		t.Fatalf("StoredSize = %d, want 74", got)
	}
}

func TestPatterns(t *testing.T) {
	vendor := mustGUID("12345678-1234-1234-1234-123456789abc")
	cases := []struct {
		p    string
		n    Name
		want bool
	}{
		{"Foo-" + vendor.String(), Name{"Foo", vendor}, true},
		{"Foo-" + vendor.String(), Name{"Foo2", vendor}, false},
		{"Foo*-" + vendor.String(), Name{"Foo2", vendor}, true},
		{"*-" + vendor.String(), Name{"Anything", vendor}, true},
		{"*-" + vendor.String(), Name{"Anything", GlobalGUID}, false},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Match(c.n) != c.want || p.String() != c.p {
			t.Errorf("%s match %s = %v", c.p, c.n, !c.want)
		}
	}
	for _, bad := range []string{"F*o-" + vendor.String(), "-" + vendor.String(), "Foo"} {
		if _, err := ParsePattern(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePattern(%q) = %v", bad, err)
		}
	}
	// The kernel's list (efivar_variable_is_removable).
	for n, want := range map[Name]bool{
		BootNext: true, BootOrder: true, BootEntry(1): true, {"BootCurrent", GlobalGUID}: true,
		OsIndications: true, Timeout: true, {"Lang", GlobalGUID}: true, {"DriverOrder", GlobalGUID}: true,
		{"dump-type0-1-1", LinuxCrashGUID}: true,
		PK:                                 false, Db: false, SecureBoot: false, {"BootOrder", vendor}: false, {"Bootx", vendor}: false,
	} {
		if KernelMutable(n) != want {
			t.Errorf("KernelMutable(%s) = %v", n, !want)
		}
	}
}

// A load option written out by hand from UEFI 2.10 §3.1.3: ACTIVE,
// description "A", file path = one End Entire node, optional data "xy".
var handLoadOption = []byte{
	0x01, 0x00, 0x00, 0x00, // Attributes = LOAD_OPTION_ACTIVE
	0x04, 0x00, // FilePathListLength = 4
	'A', 0x00, 0x00, 0x00, // L"A"
	0x7f, 0xff, 0x04, 0x00, // End Entire device path node
	'x', 'y', // OptionalData
}

// systemd-boot's Boot0001 as captured by go-uefi's efivarfs_test.go
// (attribute prefix removed): "Linux Boot Manager", HD() + File() nodes.
var linuxBootManager = mustHex("0100000074004c0069006e0075007800200042006f006f00740020004d0061006e0061006700650072000000" +
	"04012a0001000000000800000000000000080f0000000000f8da34a80899aa44b67cd8062c5a5c100202" +
	"040446005c004500460049005c00730079007300740065006d0064005c00730079007300740065006d0064002d0062006f006f0074007800360034002e0065006600690000007fff0400")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseLoadOption(t *testing.T) {
	lo, err := ParseLoadOption(handLoadOption)
	if err != nil {
		t.Fatal(err)
	}
	if lo.Attributes != LoadOptionActive || lo.Description != "A" || !bytes.Equal(lo.FilePath, []byte{0x7f, 0xff, 4, 0}) || string(lo.OptionalData) != "xy" {
		t.Fatalf("%+v", lo)
	}
	m, err := lo.Marshal()
	if err != nil || !bytes.Equal(m, handLoadOption) {
		t.Fatalf("marshal: %v % x", err, m)
	}
	lo, err = ParseLoadOption(linuxBootManager)
	if err != nil {
		t.Fatal(err)
	}
	if lo.Description != "Linux Boot Manager" || len(lo.FilePath) != 0x74 || len(lo.OptionalData) != 0 {
		t.Fatalf("%q %d %d", lo.Description, len(lo.FilePath), len(lo.OptionalData))
	}
	for name, b := range map[string][]byte{
		"short":         {1, 0, 0, 0, 4},
		"no NUL":        {1, 0, 0, 0, 4, 0, 'A', 0},
		"path too long": {1, 0, 0, 0, 8, 0, 0, 0, 0x7f, 0xff, 4, 0},
		"no end node":   {1, 0, 0, 0, 4, 0, 0, 0, 0x04, 0x04, 4, 0},
		"node length 2": {1, 0, 0, 0, 4, 0, 0, 0, 0x7f, 0xff, 2, 0},
		"after end":     {1, 0, 0, 0, 8, 0, 0, 0, 0x7f, 0xff, 4, 0, 0x7f, 0xff, 4, 0},
		"empty path":    {1, 0, 0, 0, 0, 0, 0, 0},
		"surrogate":     {1, 0, 0, 0, 4, 0, 0x00, 0xd8, 0, 0, 0x7f, 0xff, 4, 0},
	} {
		if _, err := ParseLoadOption(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateKernel(t *testing.T) {
	vendor := mustGUID("12345678-1234-1234-1234-123456789abc")
	cases := []struct {
		n    Name
		data []byte
		ok   bool
	}{
		{BootNext, []byte{1, 0}, true},
		{BootNext, []byte{1, 0, 0}, false},
		{Timeout, []byte{5}, false},
		{BootOrder, []byte{1, 0, 2, 0}, true},
		{BootOrder, []byte{1, 0, 2}, false},
		{BootEntry(1), handLoadOption, true},
		{BootEntry(1), handLoadOption[:7], false},
		{BootEntry(1), []byte{1, 0, 0, 0, 4, 0, 'A', 0, 0, 0, 0x04, 0x01, 4, 0}, false}, // no end node
		{Name{"BootCurrent", GlobalGUID}, []byte{1}, true},                              // not four hex digits: unchecked
		{Name{"Boot00012", GlobalGUID}, handLoadOption, false},                          // more than four hex digits
		{Name{"Lang", GlobalGUID}, []byte("eng\x00"), true},
		{Name{"Lang", GlobalGUID}, []byte("eng"), false},
		{Name{"Lang", GlobalGUID}, []byte{0xc3, 0}, false},
		{Name{"ConOut", GlobalGUID}, []byte{0x7f, 0xff, 4, 0}, true},
		{Name{"ConOut", GlobalGUID}, []byte{0x7f, 0xff, 3, 0}, false},
		{OsIndications, []byte{1, 2, 3}, true},
		{Name{"Anything", vendor}, []byte{1}, true},
	}
	for _, c := range cases {
		err := ValidateKernel(c.n, c.data)
		if (err == nil) != c.ok {
			t.Errorf("%s % x: %v", c.n.Name, c.data, err)
		}
		if err != nil && (!errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), c.n.Name)) {
			t.Errorf("%s: error %v does not name the variable or is not EINVAL", c.n.Name, err)
		}
	}
}

// One SHA-256 signature list written by hand (UEFI 2.10 §32.4.1):
// EFI_CERT_SHA256_GUID, ListSize 28+48=76, HeaderSize 0, SignatureSize 48.
func handSHA256List(owner byte, digest byte) []byte {
	b := mustHex("2616c4c14c509240aca941f936934328") // EFI_CERT_SHA256_GUID c1c41626-504c-4092-aca9-41f936934328
	b = append(b, 76, 0, 0, 0, 0, 0, 0, 0, 48, 0, 0, 0)
	b = append(b, bytes.Repeat([]byte{owner}, 16)...)
	return append(b, bytes.Repeat([]byte{digest}, 32)...)
}

func TestSignatureLists(t *testing.T) {
	a := handSHA256List(1, 0xaa)
	l, err := ParseSignatureLists(a)
	if err != nil || len(l) != 1 || len(l[0].Signatures) != 1 || l[0].Size != 48 || l[0].Signatures[0].Data[0] != 0xaa {
		t.Fatalf("%v %+v", err, l)
	}
	m, err := MarshalSignatureLists(l)
	if err != nil || !bytes.Equal(m, a) {
		t.Fatalf("round trip: %v", err)
	}
	b := handSHA256List(1, 0xbb)
	// Appending a list already present adds nothing; a new one is appended.
	got, err := AppendSignatureLists(a, a)
	if err != nil || !bytes.Equal(got, a) {
		t.Fatalf("dedup: %v % x", err, got)
	}
	got, err = AppendSignatureLists(a, append(append([]byte(nil), a...), b...))
	if err != nil || !bytes.Equal(got, append(append([]byte(nil), a...), b...)) {
		t.Fatalf("partial dedup: %v", err)
	}
	if ok, _ := SignatureListsContain(got, b); !ok {
		t.Fatal("contain")
	}
	if ok, _ := SignatureListsContain(a, b); ok {
		t.Fatal("contains what it does not")
	}
	for name, bad := range map[string][]byte{
		"short":         a[:27],
		"size too big":  append(append([]byte(nil), a[:16]...), append([]byte{77, 0, 0, 0}, a[20:]...)...),
		"sigsize 16":    append(append([]byte(nil), a[:24]...), append([]byte{16, 0, 0, 0}, a[28:]...)...),
		"not multiple":  append(append([]byte(nil), a[:16]...), append([]byte{75, 0, 0, 0}, a[20:75]...)...),
		"no signatures": append(append([]byte(nil), a[:16]...), append([]byte{28, 0, 0, 0}, a[20:28]...)...),
	} {
		if _, err := ParseSignatureLists(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAuth2(t *testing.T) {
	// EFI_TIME 2024-05-06 07:08:09, WIN_CERTIFICATE_UEFI_GUID with 3 bytes
	// of CertData (dwLength 27), then payload "pp".
	b := []byte{0xe8, 0x07, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		27, 0, 0, 0, 0x00, 0x02, 0xf1, 0x0e}
	b = append(b, CertPKCS7GUID[:]...)
	b = append(b, 'c', 'c', 'c', 'p', 'p')
	a, err := ParseAuth2(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.Time.Year != 2024 || a.Time.Second != 9 || string(a.Cert) != "ccc" || string(a.Payload) != "pp" {
		t.Fatalf("%+v", a)
	}
	if !bytes.Equal(a.Marshal(), b) {
		t.Fatal("round trip")
	}
	later := a.Time
	later.Second++
	if a.Time.Compare(later) != -1 || later.Compare(a.Time) != 1 || a.Time.Compare(a.Time) != 0 {
		t.Fatal("Compare")
	}
	bad := append([]byte(nil), b...)
	bad[8] = 1 // Nanosecond
	if _, err := ParseAuth2(bad); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	bad = append([]byte(nil), b...)
	bad[16] = 200 // dwLength past the end
	if _, err := ParseAuth2(bad); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
}

func TestAttrAndOsIndications(t *testing.T) {
	if DefaultAttr.String() != "NV|BS|RT" || Attr(0x100).String() != "0x100" {
		t.Fatal(DefaultAttr.String(), Attr(0x100).String())
	}
	for s, want := range map[string]Attr{"NV|BS|RT": 7, "nv,bs,rt,at": 0x27, "0x7": 7, "39": 39} {
		if a, err := ParseAttr(s); err != nil || a != want {
			t.Errorf("ParseAttr(%q) = %v %v", s, a, err)
		}
	}
	if _, err := ParseAttr("NV|XX"); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	v, err := ParseOsIndicationBits("boot-to-fw-ui,0x4")
	if err != nil || v != 5 || strings.Join(OsIndicationNames(v|0x100), ",") != "boot-to-fw-ui,file-capsule-delivery,0x100" {
		t.Fatalf("%v %v %v", v, err, OsIndicationNames(v|0x100))
	}
	if _, err := ParseOsIndicationBits("nope"); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	if o, err := ParseBootOrder([]byte{1, 0, 0x10, 0x20}); err != nil || o[0] != 1 || o[1] != 0x2010 {
		t.Fatal(o, err)
	}
}

// mustGUID parses a GUID literal of a test (a malformed one fails loudly).
func mustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}
