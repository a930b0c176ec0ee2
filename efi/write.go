package efi

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"syscall"
)

// Set replaces n's value with data and attributes attr (which must not
// include AppendWrite: use [Vars.Append]). For a time-based authenticated
// variable, data is the EFI_VARIABLE_AUTHENTICATION_2 descriptor followed
// by the new value; an empty value then deletes the variable.
//
// The value goes to efivarfs in exactly one write(2) (one SetVariable
// call, UEFI 2.10 §8.2.1), on a file opened without O_TRUNC. If the file
// is immutable and n is allow-listed ([KernelMutable], [WithMutable]), the
// flag is cleared once, the open retried, and the flag restored after the
// write. A file this call created but could not write (a phantom) is
// removed again.
func (v *Vars) Set(n Name, attr Attr, data []byte) error {
	if attr&AppendWrite != 0 {
		return &VarError{Op: "write", Var: n, Err: &reasonError{syscall.EINVAL, "AppendWrite given to Set (use Append)"}}
	}
	return v.write("write", n, attr, data)
}

// Append appends data to n's value (attr|AppendWrite in one write). The
// firmware creates the variable if it does not exist; for signature
// databases it drops signatures already present (UEFI 2.10 §8.2.1).
func (v *Vars) Append(n Name, attr Attr, data []byte) error {
	return v.write("append", n, attr|AppendWrite, data)
}

func (v *Vars) write(op string, n Name, attr Attr, data []byte) error {
	if err := n.Check(); err != nil {
		return err
	}
	if attr&^kernelMask != 0 {
		return &VarError{Op: op, Var: n, Err: &reasonError{syscall.EINVAL, "attributes " + attr.String() + " outside EFI_VARIABLE_MASK"}}
	}
	if err := ValidateKernel(n, data); err != nil {
		return &VarError{Op: op, Var: n, Err: err}
	}
	buf := make([]byte, 4+len(data))
	binary.LittleEndian.PutUint32(buf, uint32(attr))
	copy(buf[4:], data)

	f, created, restore, err := v.openForWrite(op, n)
	if err != nil {
		return err
	}
	nw, err := f.Write(buf)
	cerr := f.Close()
	if restore {
		v.setImmutable(n)
	}
	if err == nil && nw != len(buf) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = cerr
	}
	if err != nil {
		if created {
			v.removePhantom(n)
		}
		return varErr(op, n, err)
	}
	return nil
}

// openForWrite opens n for writing: the existing file without O_CREAT
// (so no phantom is made for nothing) or, if there is none, a new one.
// EPERM from an immutable file is answered once, for allow-listed names
// only, by clearing the flag; restore then says to set it again.
func (v *Vars) openForWrite(op string, n Name) (f File, created, restore bool, err error) {
	name := n.String()
	f, err = v.b.OpenFile(name, os.O_WRONLY)
	if errors.Is(err, syscall.ENOENT) {
		f, err = v.b.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if err == nil {
			return f, true, false, nil
		}
	}
	if errors.Is(err, syscall.EPERM) {
		if !v.MayClearImmutable(n) {
			return nil, false, false, varErr(op, n, err)
		}
		if err := v.clearImmutable(n); err != nil {
			return nil, false, false, err
		}
		restore = true
		f, err = v.b.OpenFile(name, os.O_WRONLY)
		if err != nil {
			v.setImmutable(n)
			return nil, false, false, varErr(op, n, err)
		}
		return f, false, true, nil
	}
	if err != nil {
		return nil, false, false, varErr(op, n, err)
	}
	return f, false, false, nil
}

func (v *Vars) clearImmutable(n Name) error {
	fl, err := v.b.Flags(n.String())
	if err != nil {
		return varErr("clear immutable", n, err)
	}
	if err := v.b.SetFlags(n.String(), fl&^FlagImmutable); err != nil {
		return varErr("clear immutable", n, err)
	}
	return nil
}

// setImmutable restores the flag after a write. Failure is not reported:
// the value is already in NVRAM, and the flag only guards this boot's
// inode against accidental writes (efivarfs sets it again at every mount).
func (v *Vars) setImmutable(n Name) {
	if fl, err := v.b.Flags(n.String()); err == nil {
		_ = v.b.SetFlags(n.String(), fl|FlagImmutable)
	}
}

// removePhantom removes a zero-length file this process created for a
// write that failed. Best effort: a phantom reads as absent either way.
func (v *Vars) removePhantom(n Name) {
	if err := v.b.Remove(n.String()); errors.Is(err, syscall.EPERM) {
		if v.clearImmutable(n) == nil {
			_ = v.b.Remove(n.String())
		}
	}
}

// Delete deletes n by unlinking its file (efivarfs then calls SetVariable
// with no data). An immutable allow-listed file has its flag cleared once
// first. Deleting a time-based authenticated variable needs a signed
// empty write through [Vars.Set] instead; unlinking it is refused by the
// firmware (EACCES).
func (v *Vars) Delete(n Name) error {
	if err := n.Check(); err != nil {
		return err
	}
	err := v.b.Remove(n.String())
	if errors.Is(err, syscall.EPERM) && v.MayClearImmutable(n) {
		if cerr := v.clearImmutable(n); cerr != nil {
			return cerr
		}
		if err = v.b.Remove(n.String()); err != nil {
			v.setImmutable(n)
		}
	}
	if err != nil {
		return varErr("delete", n, err)
	}
	return nil
}
