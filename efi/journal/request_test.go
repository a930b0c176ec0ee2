package journal

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// TestChangeRequest: each request becomes its Change, or is refused with
// the message that names the flag, as an input error; the variable layer
// is opened only for ExpectCurrent.
func TestChangeRequest(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.WriteFile(data, []byte{0xc0, 0xff, 0xee}, 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	vendor := efi.Name{Name: "SlkitRequest", GUID: efi.GlobalGUID}
	held := efi.Name{Name: "SlkitHeld", GUID: efi.GlobalGUID}
	st := efitest.New()
	st.Put(held, efi.DefaultAttr, []byte{7})
	hex := func(s string) []Value { return []Value{{efi.ValueHex, s}} }
	set := func(r ChangeRequest) ChangeRequest {
		r.Command, r.Var = "efi queue set", vendor
		if r.Op == 0 {
			r.Op = OpSet
		}
		if r.Attr == "" {
			r.Attr = "NV|BS|RT"
		}
		return r
	}
	for _, c := range []struct {
		name  string
		req   ChangeRequest
		want  Change
		err   string // "" for none
		input bool   // the refusal is a file's (*fsys.InputError)
		opens bool
	}{
		{name: "set hex", req: set(ChangeRequest{Data: hex("c0ffee"), ExpectAbsent: true, Reboot: true}),
			want: Change{Op: OpSet, Var: vendor, Attr: efi.DefaultAttr, Data: []byte{0xc0, 0xff, 0xee}, Expect: Expect{Kind: ExpectAbsent}, Reboot: true}},
		{name: "set file", req: set(ChangeRequest{Data: []Value{{ValueFile, data}}}),
			want: Change{Op: OpSet, Var: vendor, Attr: efi.DefaultAttr, Data: []byte{0xc0, 0xff, 0xee}}},
		{name: "append u16", req: set(ChangeRequest{Op: OpAppend, Attr: "7", Data: []Value{{efi.ValueU16, "1"}}, ExpectData: hex("00")}),
			want: Change{Op: OpAppend, Var: vendor, Attr: 7, Data: []byte{1, 0}, Expect: ExpectData([]byte{0})}},
		{name: "boot order, expect file", req: set(ChangeRequest{Data: []Value{{efi.ValueBootOrder, "0002,0001"}}, ExpectData: []Value{{ValueFile, data}}}),
			want: Change{Op: OpSet, Var: vendor, Attr: efi.DefaultAttr, Data: []byte{2, 0, 1, 0}, Expect: Expect{Kind: ExpectValue, SHA256: sha256.Sum256([]byte{0xc0, 0xff, 0xee})}}},
		{name: "delete ignores data flags", req: ChangeRequest{Op: OpDelete, Var: vendor},
			want: Change{Op: OpDelete, Var: vendor}},
		{name: "osindications", req: ChangeRequest{Op: OpOsIndications, Var: vendor, SetBits: "boot-to-fw-ui", ClearBits: "0x4"},
			want: Change{Op: OpOsIndications, Var: efi.OsIndications, SetBits: efi.OsIndBootToFwUI, ClearBits: 4}},
		{name: "expect current held", req: ChangeRequest{Op: OpDelete, Var: held, ExpectCurrent: true}, opens: true,
			want: Change{Op: OpDelete, Var: held, Expect: ExpectData([]byte{7})}},
		{name: "expect current absent", req: ChangeRequest{Op: OpDelete, Var: vendor, ExpectCurrent: true}, opens: true,
			want: Change{Op: OpDelete, Var: vendor, Expect: Expect{Kind: ExpectAbsent}}},

		{name: "bad set bits", req: ChangeRequest{Op: OpOsIndications, SetBits: "nope", ClearBits: "also-bad"}, err: `malformed OsIndications bits "nope": unknown "nope"`},
		{name: "bad clear bits", req: ChangeRequest{Op: OpOsIndications, ClearBits: "x,"}, err: `malformed OsIndications bits "x,": unknown "x"`},
		{name: "bad attr", req: set(ChangeRequest{Attr: "XX", Data: hex("00")}), err: `malformed attributes "XX": unknown "XX"`},
		{name: "no data", req: set(ChangeRequest{}), err: "efi queue set: give exactly one of --hex, --file, --u16, --boot-order (got 0)"},
		{name: "two data", req: set(ChangeRequest{Data: []Value{{efi.ValueU16, "1"}, {efi.ValueHex, "00"}}}), err: "efi queue set: give exactly one of --hex, --file, --u16, --boot-order (got 2)"},
		{name: "bad hex", req: set(ChangeRequest{Data: hex("0g")}), err: "--hex: malformed hex value: encoding/hex: invalid byte: U+0067 'g'"},
		{name: "bad u16", req: set(ChangeRequest{Data: []Value{{efi.ValueU16, "0x10000"}}}), err: "--u16: "},
		{name: "empty data file", req: set(ChangeRequest{Data: []Value{{ValueFile, empty}}}), err: empty + ": empty file", input: true},
		{name: "bad expect hex", req: set(ChangeRequest{Data: hex("00"), ExpectData: hex("zz")}), err: "--expect-hex: malformed hex value"},
		{name: "two preconditions", req: set(ChangeRequest{Data: hex("00"), ExpectAbsent: true, ExpectCurrent: true}),
			err: "give at most one of --expect-hex, --expect-file, --expect-absent, --expect-current"},
		{name: "value and absent", req: set(ChangeRequest{Data: hex("00"), ExpectData: hex("00"), ExpectAbsent: true}),
			err: "give at most one of --expect-hex, --expect-file, --expect-absent, --expect-current"},
	} {
		opened := false
		ch, err := c.req.Change(func() (*efi.Vars, error) { opened = true; return efi.New(st), nil })
		switch {
		case c.err == "" && (err != nil || !reflect.DeepEqual(ch, c.want)):
			t.Errorf("%s: %+v, %v; want %+v", c.name, ch, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, errkind.Input) && !c.input):
			t.Errorf("%s: %v (input %v), want %q", c.name, err, errors.Is(err, errkind.Input), c.err)
		case c.input && !errors.As(err, new(*fsys.InputError)):
			t.Errorf("%s: %v is not an *fsys.InputError", c.name, err)
		case opened != c.opens:
			t.Errorf("%s: variables opened %v, want %v", c.name, opened, c.opens)
		}
	}
	fail := errors.New("no efivarfs")
	if _, err := (&ChangeRequest{Op: OpDelete, Var: vendor, ExpectCurrent: true}).Change(func() (*efi.Vars, error) { return nil, fail }); err != fail {
		t.Errorf("open failure: %v", err)
	}
}
