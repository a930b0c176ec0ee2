package journal

import (
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

// TestExpectNow: the precondition of the value a variable holds now holds
// for exactly that value; a missing variable gives ExpectAbsent.
func TestExpectNow(t *testing.T) {
	st := efitest.New()
	v := efi.New(st)
	n := efi.Name{Name: "SlkitExpectNow", GUID: efi.GlobalGUID}
	x, err := ExpectNow(v, n)
	if err != nil || x.Kind != ExpectAbsent {
		t.Fatalf("missing variable: %+v %v", x, err)
	}
	st.Put(n, efi.DefaultAttr, []byte{1, 0, 2, 0})
	x, err = ExpectNow(v, n)
	if err != nil || x.Kind != ExpectValue {
		t.Fatalf("present variable: %+v %v", x, err)
	}
	if !x.Holds(&efi.Variable{Name: n, Attr: efi.DefaultAttr, Data: []byte{1, 0, 2, 0}}) ||
		x.Holds(&efi.Variable{Name: n, Attr: efi.DefaultAttr, Data: []byte{1, 0}}) || x.Holds(nil) {
		t.Fatal("the precondition does not hold for exactly the value read")
	}
}
