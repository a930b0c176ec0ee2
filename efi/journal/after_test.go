package journal

import (
	"bytes"
	"testing"

	"github.com/slkit/slkit/efi"
)

// TestAfter checks the value each kind of change leaves, against byte
// strings written out by hand.
func TestAfter(t *testing.T) {
	auth := efi.NonVolatile | efi.BootserviceAccess | efi.RuntimeAccess | efi.TimeBasedAuthenticatedWriteAccess
	signed := func(payload []byte) []byte {
		return (&efi.Auth2{Time: efi.Time{Year: 2026, Month: 1, Day: 2}, Cert: []byte{0x30, 0}, Payload: payload}).Marshal()
	}
	// One EFI_SIGNATURE_LIST of type 01…, header size 0, two 17-byte
	// signatures (16-byte owner + 1 data byte): 28 + 2·17 = 62 bytes.
	list := func(sigs ...byte) []byte {
		b := append(bytes.Repeat([]byte{1}, 16), byte(28+17*len(sigs)), 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0)
		for _, s := range sigs {
			b = append(append(b, bytes.Repeat([]byte{2}, 16)...), s)
		}
		return b
	}
	cur := &efi.Variable{Name: efi.Db, Attr: auth, Data: list('a', 'b')}
	osi := &efi.Variable{Name: efi.OsIndications, Attr: efi.DefaultAttr, Data: []byte{5, 0, 0, 0, 0, 0, 0, 0}}
	for _, c := range []struct {
		name string
		ch   Change
		cur  *efi.Variable
		want *efi.Variable // nil: absent
	}{
		{"set", Change{Op: OpSet, Var: efi.BootOrder, Attr: efi.DefaultAttr, Data: []byte{1, 0}}, nil,
			&efi.Variable{Name: efi.BootOrder, Attr: efi.DefaultAttr, Data: []byte{1, 0}}},
		{"authenticated set: the payload", Change{Op: OpSet, Var: efi.Db, Attr: auth, Data: signed(list('c'))}, cur,
			&efi.Variable{Name: efi.Db, Attr: auth, Data: list('c')}},
		{"signed delete", Change{Op: OpSet, Var: efi.Db, Attr: auth, Data: signed(nil)}, cur, nil},
		{"append", Change{Op: OpAppend, Var: efi.BootOrder, Attr: efi.DefaultAttr, Data: []byte{3, 0}},
			&efi.Variable{Name: efi.BootOrder, Attr: efi.DefaultAttr, Data: []byte{1, 0}},
			&efi.Variable{Name: efi.BootOrder, Attr: efi.DefaultAttr, Data: []byte{1, 0, 3, 0}}},
		{"authenticated db append drops what is there", Change{Op: OpAppend, Var: efi.Db, Attr: auth, Data: signed(list('b', 'c'))}, cur,
			&efi.Variable{Name: efi.Db, Attr: auth, Data: append(list('a', 'b'), list('c')...)}},
		{"delete", Change{Op: OpDelete, Var: efi.BootOrder}, &efi.Variable{Name: efi.BootOrder, Attr: efi.DefaultAttr, Data: []byte{1, 0}}, nil},
		{"OsIndications", Change{Op: OpOsIndications, Var: efi.OsIndications, SetBits: 2, ClearBits: 1}, osi,
			&efi.Variable{Name: efi.OsIndications, Attr: efi.DefaultAttr, Data: []byte{6, 0, 0, 0, 0, 0, 0, 0}}},
		{"OsIndications clearing a missing variable", Change{Op: OpOsIndications, Var: efi.OsIndications, ClearBits: 1}, nil, nil},
	} {
		got, err := c.ch.After(c.cur)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if (got == nil) != (c.want == nil) || (got != nil && (got.Name != c.want.Name || got.Attr != c.want.Attr || !bytes.Equal(got.Data, c.want.Data))) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	if _, err := (&Change{Op: OpSet, Var: efi.Db, Attr: auth, Data: []byte{1, 2}}).After(cur); err == nil {
		t.Error("an authenticated set without a descriptor was accepted")
	}
}
