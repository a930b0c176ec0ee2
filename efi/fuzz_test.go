package efi

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseLoadOption: never panics, fails only with ErrMalformed, an
// accepted option re-marshals to the same bytes, and the kernel's own
// check (validate_load_option) accepts whatever slkit accepts.
func FuzzParseLoadOption(f *testing.F) {
	f.Add(handLoadOption)
	f.Add(linuxBootManager)
	f.Add([]byte{1, 0, 0, 0, 8, 0, 0, 0, 0x04, 0x04, 4, 0, 0x7f, 0xff, 4, 0})
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 'A', 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		lo, err := ParseLoadOption(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		m, err := lo.Marshal()
		if err != nil || !bytes.Equal(m, b) {
			t.Fatalf("round trip: %v\n% x\n% x", err, b, m)
		}
		if err := ValidateKernel(BootEntry(1), b); err != nil {
			t.Fatalf("slkit accepts what the kernel refuses: %v", err)
		}
	})
}

// FuzzParseSignatureLists: round trip, and appending a database to itself
// changes nothing (the firmware's de-duplication).
func FuzzParseSignatureLists(f *testing.F) {
	f.Add(handSHA256List(1, 2))
	f.Add(append(handSHA256List(1, 2), handSHA256List(3, 4)...))
	f.Add([]byte{})
	f.Add(handSHA256List(1, 2)[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseSignatureLists(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		m, err := MarshalSignatureLists(l)
		if err != nil || !bytes.Equal(m, b) {
			t.Fatalf("round trip: %v", err)
		}
		same, err := AppendSignatureLists(b, b)
		if err != nil || !bytes.Equal(same, b) {
			t.Fatalf("self-append changed the database: %v", err)
		}
		if ok, err := SignatureListsContain(b, b); !ok || err != nil {
			t.Fatalf("a database does not contain itself: %v", err)
		}
	})
}

// FuzzParseAuth2: round trip of the authentication descriptor.
func FuzzParseAuth2(f *testing.F) {
	a := Auth2{Time: Time{Year: 2024, Month: 1, Day: 2}, Cert: []byte("cert"), Payload: []byte("payload")}
	f.Add(a.Marshal())
	f.Add(a.Marshal()[:30])
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAuth2(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if !bytes.Equal(a.Marshal(), b) {
			t.Fatal("round trip")
		}
	})
}

// FuzzParseBootOrder: round trip of BootOrder.
func FuzzParseBootOrder(f *testing.F) {
	f.Add([]byte{1, 0, 2, 0})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseBootOrder(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || len(b)%2 == 0 {
				t.Fatalf("%v", err)
			}
			return
		}
		if !bytes.Equal(MarshalBootOrder(o), b) || ValidateKernel(BootOrder, b) != nil {
			t.Fatal("round trip or kernel check")
		}
	})
}

// FuzzParseName: a parsed name prints back to a string that parses to it.
func FuzzParseName(f *testing.F) {
	f.Add("BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c")
	f.Add("a-b-8BE4DF61-93CA-11D2-AA0D-00E098032B8C")
	f.Add("-8be4df61-93ca-11d2-aa0d-00e098032b8c")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		n2, err := ParseName(n.String())
		if err != nil || !reflect.DeepEqual(n, n2) {
			t.Fatalf("%q -> %v -> %v %v", s, n, n2, err)
		}
	})
}

// FuzzParsePattern: a parsed pattern prints back to a string that parses
// to it, and matches what its form says (a name equal to a plain pattern,
// a name with the stem of a '*' or "####" pattern).
func FuzzParsePattern(f *testing.F) {
	f.Add("Boot####-8be4df61-93ca-11d2-aa0d-00e098032b8c")
	f.Add("Con*-8be4df61-93ca-11d2-aa0d-00e098032b8c")
	f.Add("*-cfc8fc79-be2e-4ddc-97f0-9f98bfe298a0")
	f.Add("B#t-8be4df61-93ca-11d2-aa0d-00e098032b8c")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		p2, err := ParsePattern(p.String())
		if err != nil || p2 != p {
			t.Fatalf("%q -> %v -> %v %v", s, p, p2, err)
		}
		stem, hex := strings.CutSuffix(p.Name, "####")
		if !hex && !strings.HasSuffix(p.Name, "*") && !p.Match(Name{p.Name, p.GUID}) {
			t.Fatalf("%v does not match its own name", p)
		}
		if hex && (!p.Match(Name{stem + "00AF", p.GUID}) || p.Match(Name{stem + "00af", p.GUID}) || p.Match(Name{stem + "00AF0", p.GUID})) {
			t.Fatalf("%v: four uppercase hex digits only", p)
		}
	})
}
