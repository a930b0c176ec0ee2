package journal

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/slkit/slkit/efi"
)

// Op is what an entry does to its variable.
type Op uint8

// Operations. Each is idempotent on replay (see README.md, "Replay").
const (
	// OpSet makes the variable hold Data with Attr (set-if-different). For
	// a time-based authenticated variable, Data is the signed
	// EFI_VARIABLE_AUTHENTICATION_2 write and its payload the new value.
	OpSet Op = 1
	// OpAppend appends Data (an APPEND write).
	OpAppend Op = 2
	// OpDelete deletes the variable (absent counts as done).
	OpDelete Op = 3
	// OpOsIndications sets SetBits and clears ClearBits of OsIndications
	// (UEFI 2.10 §8.5.4), keeping the other bits.
	OpOsIndications Op = 4
)

var opNames = map[Op]string{OpSet: "set", OpAppend: "append", OpDelete: "delete", OpOsIndications: "osindications"}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// ExpectKind is the compare-and-swap precondition of an entry.
type ExpectKind uint8

// Preconditions.
const (
	ExpectAny    ExpectKind = iota // no precondition
	ExpectAbsent                   // the variable must not exist
	ExpectValue                    // the variable's data must hash to SHA256
)

// Expect is checked against the variable's current data (attributes not
// included) right before the entry is applied; if it does not hold, the
// entry fails as a conflict and nothing is written.
type Expect struct {
	Kind   ExpectKind
	SHA256 [32]byte
}

// ExpectData is the precondition "the variable currently holds data".
func ExpectData(data []byte) Expect { return Expect{Kind: ExpectValue, SHA256: sha256.Sum256(data)} }

// ExpectNow is the precondition that the variable still holds what v
// reads now (absent: ExpectAbsent): a change queued against the value the
// launched OS sees, applied only if nothing changed it before the commit.
// Reading a variable is efivarfs' GetVariable; nothing is written.
func ExpectNow(v *efi.Vars, n efi.Name) (Expect, error) {
	cur, err := v.Get(n)
	switch {
	case errors.Is(err, efi.ErrNotFound):
		return Expect{Kind: ExpectAbsent}, nil
	case err != nil:
		return Expect{}, err
	}
	return ExpectData(cur.Data), nil
}

// Holds reports whether the precondition holds for cur (nil: absent):
// Commit applies the entry only then.
func (x Expect) Holds(cur *efi.Variable) bool { return x.holds(cur) }

func (x Expect) holds(cur *efi.Variable) bool {
	switch x.Kind {
	case ExpectAbsent:
		return cur == nil
	case ExpectValue:
		return cur != nil && sha256.Sum256(cur.Data) == x.SHA256
	}
	return true
}

// allowedAttr are the attributes an entry may carry.
const allowedAttr = efi.NonVolatile | efi.BootserviceAccess | efi.RuntimeAccess | efi.TimeBasedAuthenticatedWriteAccess

// Change is one variable change to queue.
type Change struct {
	Op   Op
	Var  efi.Name
	Attr efi.Attr // OpSet, OpAppend: without AppendWrite; OpDelete: 0
	Data []byte   // OpSet, OpAppend
	// SetBits and ClearBits are OpOsIndications' operands (disjoint).
	SetBits, ClearBits uint64
	Expect             Expect
	// Reboot marks a change that only takes effect through a firmware
	// reboot (a BootNext set and an OsIndications set always do).
	Reboot bool
}

// Entry is a queued change with its sequence number (1, 2, ... within a
// generation).
type Entry struct {
	Seq uint32
	Change
}

// Late reports whether the change must come after all others: BootNext
// and OsIndications decide what the next boot does, so they are written
// only once everything they may depend on is in place.
func (c *Change) Late() bool {
	return c.Var == efi.BootNext || c.Var == efi.OsIndications
}

// NeedsReboot reports whether the change takes effect only through a
// firmware reboot: setting BootNext, setting OsIndications bits, or a
// change queued with Reboot.
func (c *Change) NeedsReboot() bool {
	return c.Reboot || (c.Var == efi.BootNext && c.Op == OpSet) || (c.Op == OpOsIndications && c.SetBits != 0)
}

// consumable reports whether the firmware consumes the change at the boot
// it is written for: it deletes BootNext and clears the OsIndications
// bits it acted on (UEFI 2.10 §3.1.2, §8.5.4).
func (c *Change) consumable() bool {
	return (c.Var == efi.BootNext && c.Op == OpSet) || (c.Op == OpOsIndications && c.SetBits != 0)
}

// consumed reports whether cur is what the firmware leaves after
// consuming the change: no BootNext, or none of the set bits.
func (c *Change) consumed(cur *efi.Variable) bool {
	if cur == nil {
		return true
	}
	if c.Op != OpOsIndications {
		return false
	}
	v, err := efi.ParseUint64(cur.Data)
	return err == nil && v&c.SetBits == 0
}

// authenticated reports whether the change is a time-based authenticated
// write.
func (c *Change) authenticated() bool {
	return c.Attr&efi.TimeBasedAuthenticatedWriteAccess != 0
}

// replaySafe reports whether applying the change again after it was
// applied is harmless: set, delete and OsIndications are (set-if-different
// and bit operations), so is an authenticated append to a signature
// database (the firmware drops signatures already present), and so is an
// append with a precondition (a fresh read shows whether it happened).
func (c *Change) replaySafe() bool {
	return c.Op != OpAppend || c.dedupAppend() || c.Expect.Kind != ExpectAny
}

// dedupAppend reports whether the change is an authenticated append to a
// signature database, which the firmware de-duplicates.
func (c *Change) dedupAppend() bool {
	return c.Op == OpAppend && c.authenticated() && efi.IsSignatureDatabase(c.Var)
}

// Check validates a change on its own: what the journal parser also
// enforces, so that Enqueue never writes a journal Commit would refuse.
// The variable name must be one efivarfs creates as the same firmware
// name (efi.Name.Check), and an append needs a precondition; a parsed
// journal (written by an older slkit) is held to neither, and Commit
// fails such an entry alone.
func (c *Change) Check() error { return c.check(true) }

// errNoPrecondition says why a plain append without a precondition is
// not queued (and fails at the commit, in a journal an older slkit wrote).
const errNoPrecondition = "an append needs a precondition (--expect-hex/--expect-file/--expect-absent): the value it appends to"

func (c *Change) check(strict bool) error {
	check := c.Var.Check
	if !strict {
		// Any name an older slkit queued; Commit fails such an entry alone.
		check = c.Var.Valid
	}
	if err := check(); err != nil {
		return err
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s %s: %s", ErrMalformed, c.Op, c.Var, fmt.Sprintf(format, a...))
	}
	if c.Expect.Kind > ExpectValue {
		return bad("unknown precondition %d", c.Expect.Kind)
	}
	if c.Expect.Kind != ExpectValue && c.Expect.SHA256 != ([32]byte{}) {
		return bad("a digest without an expected-value precondition")
	}
	if c.Attr&^allowedAttr != 0 {
		return bad("attributes %s not allowed (only NV, BS, RT, AT; APPEND is the append operation)", c.Attr)
	}
	if c.Op != OpOsIndications && (c.SetBits != 0 || c.ClearBits != 0) {
		return bad("OsIndications bits on another operation")
	}
	switch c.Op {
	case OpSet, OpAppend:
		if c.Attr&efi.NonVolatile == 0 {
			return bad("attributes %s lack NV (a volatile variable would not survive the reboot it is queued for)", c.Attr)
		}
		if strict && !c.replaySafe() {
			// Without one, no read of the variable can tell an applied
			// append from one that was not, and only the (untrusted) state
			// file would keep it from being applied twice.
			return bad(errNoPrecondition)
		}
		if c.authenticated() {
			a, err := efi.ParseAuth2(c.Data)
			if err != nil {
				return bad("%v", err)
			}
			if c.Op == OpAppend && len(a.Payload) == 0 {
				return bad("an append of nothing")
			}
		} else if len(c.Data) == 0 {
			return bad("no data (use delete)")
		} else if err := efi.ValidateKernel(c.Var, c.Data); err != nil {
			return bad("%v", err)
		}
	case OpDelete:
		if c.Attr != 0 || len(c.Data) != 0 {
			return bad("delete takes no attributes or data")
		}
	case OpOsIndications:
		if c.Var != efi.OsIndications {
			return bad("only OsIndications-%s", efi.GlobalGUID)
		}
		if c.Attr != 0 && c.Attr != efi.DefaultAttr {
			return bad("attributes must be %s", efi.DefaultAttr)
		}
		if c.SetBits&c.ClearBits != 0 || c.SetBits|c.ClearBits == 0 || len(c.Data) != 0 {
			return bad("set %#x and clear %#x must be disjoint, not both empty, and without data", c.SetBits, c.ClearBits)
		}
	default:
		return fmt.Errorf("%w: unknown operation %d", ErrMalformed, c.Op)
	}
	return nil
}
