package journal

import (
	"errors"
	"fmt"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/internal/errkind"
)

// ValueFile is the form of a Value whose Text is the path of a file
// holding the data (read whole through VarDataInput); the other forms are
// efi.ParseValueText's: efi.ValueHex, efi.ValueU16, efi.ValueBootOrder.
const ValueFile = "file"

// Value is a variable's data as a command line gives it: Text in Form.
// `slkit efi queue` takes the form as the flag's name (--hex, --file,
// --u16, --boot-order; --expect-hex, --expect-file for a precondition).
type Value struct{ Form, Text string }

// ChangeRequest is one change as `slkit efi queue` takes it from its
// flags, before it is checked; Change checks it and builds the Change.
// Every refusal of a bad request is an input error (errkind.Input) that
// names the flag it is about.
type ChangeRequest struct {
	// Command names the command in a refusal ("efi queue set").
	Command string
	// Op is the operation.
	Op Op
	// Var is the variable to change; OpOsIndications always changes
	// efi.OsIndications (UEFI 2.10 §8.5.4), whatever Var is.
	Var efi.Name
	// Reboot marks a change that takes effect only through a firmware
	// reboot (Change.Reboot).
	Reboot bool
	// SetBits and ClearBits are OpOsIndications' bits to set and to clear
	// (efi.ParseOsIndicationBits: names or numbers, comma separated; ""
	// for none).
	SetBits, ClearBits string
	// Attr are the attributes of OpSet and OpAppend (efi.ParseAttr: NV,
	// BS, RT, AT joined by | or a number; UEFI 2.10 §8.2).
	Attr string
	// Data are the forms of the data given for OpSet and OpAppend: they
	// need exactly one.
	Data []Value
	// ExpectData are the forms given of the data the variable must hold
	// for the change to apply (efi.ValueHex or ValueFile).
	ExpectData []Value
	// ExpectAbsent: apply only if the variable does not exist.
	ExpectAbsent bool
	// ExpectCurrent: apply only if the variable still holds what it
	// holds now (ExpectNow).
	ExpectCurrent bool
}

// Change checks r and returns its Change: OsIndications' bits, then the
// attributes and the data (a file is read here), then at most one
// precondition. With ExpectCurrent it calls vars for the variable layer,
// and only then, so that a refused request touches no variable.
func (r *ChangeRequest) Change(vars func() (*efi.Vars, error)) (Change, error) {
	ch := Change{Op: r.Op, Var: r.Var, Reboot: r.Reboot}
	if r.Op == OpOsIndications {
		if err := r.osIndications(&ch); err != nil {
			return ch, err
		}
	}
	if r.Op == OpSet || r.Op == OpAppend {
		var err error
		if ch.Attr, err = efi.ParseAttr(r.Attr); err != nil {
			return ch, errkind.Mark(errkind.Input, err)
		}
		if ch.Data, err = r.data("", r.Data); err != nil {
			return ch, err
		}
	}
	n := len(r.ExpectData)
	for _, b := range []bool{r.ExpectAbsent, r.ExpectCurrent} {
		if b {
			n++
		}
	}
	if n > 1 {
		return ch, errkind.Mark(errkind.Input, errors.New("give at most one of --expect-hex, --expect-file, --expect-absent, --expect-current"))
	}
	switch {
	case r.ExpectCurrent:
		v, err := vars()
		if err != nil {
			return ch, err
		}
		ch.Expect, err = ExpectNow(v, ch.Var)
		return ch, err
	case r.ExpectAbsent:
		ch.Expect = Expect{Kind: ExpectAbsent}
	case n == 1:
		b, err := r.data("expect-", r.ExpectData)
		ch.Expect = ExpectData(b)
		return ch, err
	}
	return ch, nil
}

// osIndications parses the bits to set, then those to clear, into ch.
func (r *ChangeRequest) osIndications(ch *Change) error {
	ch.Var = efi.OsIndications
	for _, f := range []struct {
		text string
		dst  *uint64
	}{{r.SetBits, &ch.SetBits}, {r.ClearBits, &ch.ClearBits}} {
		if f.text == "" {
			continue
		}
		v, err := efi.ParseOsIndicationBits(f.text)
		if err != nil {
			return errkind.Mark(errkind.Input, err)
		}
		*f.dst = v
	}
	return nil
}

// data is the data of exactly one of given, whose flags are named prefix
// and the form: a file's content (VarDataInput), or the text parsed
// (efi.ParseValueText).
func (r *ChangeRequest) data(prefix string, given []Value) ([]byte, error) {
	if len(given) != 1 {
		return nil, errkind.Mark(errkind.Input, fmt.Errorf("%s: give exactly one of --hex, --file, --u16, --boot-order (got %d)", r.Command, len(given)))
	}
	v := given[0]
	if v.Form == ValueFile {
		return VarDataInput.Read(v.Text)
	}
	b, err := efi.ParseValueText(v.Form, v.Text)
	if err != nil {
		return nil, errkind.Mark(errkind.Input, fmt.Errorf("--%s%s: %w", prefix, v.Form, err))
	}
	return b, nil
}
