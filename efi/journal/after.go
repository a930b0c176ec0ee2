package journal

import (
	"fmt"

	"github.com/slkit/slkit/efi"
)

// After returns the variable as the firmware holds it once the change is
// applied to cur (nil: absent), or nil when the change leaves it absent.
// Commit writes and checks against it; a prediction of the next boot's
// measurements starts from it.
//
//   - set: Data with Attr; a time-based authenticated set: the payload
//     after its EFI_VARIABLE_AUTHENTICATION_2 descriptor (UEFI 2.10
//     §8.2.2), an empty payload deleting the variable;
//   - append: cur's data followed by Data (the payload, when
//     authenticated); an authenticated append to a signature database
//     drops the signatures cur already holds (efi.AppendSignatureLists,
//     §8.2.1);
//   - delete: nil;
//   - OsIndications: (cur | SetBits) &^ ClearBits, a missing variable
//     counting as 0 and created with efi.DefaultAttr only when a bit ends
//     up set.
func (c *Change) After(cur *efi.Variable) (*efi.Variable, error) {
	data := c.Data
	if c.authenticated() && (c.Op == OpSet || c.Op == OpAppend) {
		a, err := efi.ParseAuth2(c.Data)
		if err != nil {
			return nil, err
		}
		data = a.Payload
	}
	switch c.Op {
	case OpSet:
		if len(data) == 0 {
			return nil, nil
		}
		return &efi.Variable{Name: c.Var, Attr: c.Attr, Data: data}, nil
	case OpAppend:
		if c.authenticated() && efi.IsSignatureDatabase(c.Var) {
			nd, err := efi.AppendSignatureLists(dataOf(cur), data)
			if err != nil {
				return nil, err
			}
			return &efi.Variable{Name: c.Var, Attr: c.Attr, Data: nd}, nil
		}
		return &efi.Variable{Name: c.Var, Attr: c.Attr, Data: append(append([]byte(nil), dataOf(cur)...), data...)}, nil
	case OpDelete:
		return nil, nil
	case OpOsIndications:
		var old uint64
		attr := efi.DefaultAttr
		if cur != nil {
			v, err := efi.ParseUint64(cur.Data)
			if err != nil {
				return nil, fmt.Errorf("OsIndications holds %d bytes, want 8", len(cur.Data))
			}
			old, attr = v, cur.Attr
		}
		nv := (old | c.SetBits) &^ c.ClearBits
		if cur == nil && nv == 0 {
			return nil, nil
		}
		return &efi.Variable{Name: efi.OsIndications, Attr: attr, Data: efi.MarshalUint64(nv)}, nil
	}
	return nil, fmt.Errorf("%w: unknown op %d", ErrMalformed, c.Op)
}
