package efitest

import (
	"bytes"
	"syscall"

	"github.com/slkit/slkit/efi"
)

// setVariable is the firmware's SetVariable (UEFI 2.10 §8.2.1, as edk2
// implements it), returning the errno Linux maps its status to
// (efi_status_to_err) or 0. Called with s.mu held.
func (s *Store) setVariable(n efi.Name, attr efi.Attr, data []byte) syscall.Errno {
	key := n.String()
	if q := s.faults[key]; len(q) > 0 {
		s.faults[key] = q[1:]
		return q[0]
	}
	if s.cfg.readOnly[n] {
		return syscall.EROFS // EFI_WRITE_PROTECTED
	}
	if attr&(efi.HardwareErrorRecord|efi.AuthenticatedWriteAccess|efi.EnhancedAuthenticatedAccess) != 0 {
		return syscall.EINVAL // EFI_UNSUPPORTED / EFI_INVALID_PARAMETER
	}
	appendW := attr&efi.AppendWrite != 0
	attr &^= efi.AppendWrite
	if attr&efi.RuntimeAccess != 0 && attr&efi.BootserviceAccess == 0 {
		return syscall.EINVAL
	}
	cur := s.vars[key]
	if attr&efi.TimeBasedAuthenticatedWriteAccess != 0 {
		errno := s.setAuth(n, cur, attr, data, appendW)
		if errno == 0 && n == efi.PK {
			s.platformMode()
		}
		return errno
	}
	if cur != nil && cur.attr&efi.TimeBasedAuthenticatedWriteAccess != 0 {
		return syscall.EACCES // an authenticated variable needs an authenticated write
	}
	if !appendW && (len(data) == 0 || attr == 0) {
		return s.remove(key, cur)
	}
	if cur != nil && cur.attr != attr {
		return syscall.EINVAL // attributes of an existing variable cannot change
	}
	nd := data
	if appendW {
		if len(data) == 0 {
			return 0
		}
		if cur != nil {
			nd = append(append([]byte(nil), cur.data...), data...)
		}
	}
	return s.store(n, cur, attr, nd, efi.Time{}, appendW)
}

// setAuth handles a time-based authenticated write (§8.2.2).
func (s *Store) setAuth(n efi.Name, cur *variable, attr efi.Attr, data []byte, appendW bool) syscall.Errno {
	a, err := efi.ParseAuth2(data)
	if err != nil || !s.cfg.verify(n, a) {
		return syscall.EACCES
	}
	if cur != nil && cur.attr != attr {
		return syscall.EINVAL
	}
	sigdb := efi.IsSignatureDatabase(n)
	if !appendW {
		if cur != nil && a.Time.Compare(cur.time) <= 0 {
			return syscall.EACCES // a replay or an older update
		}
		if len(a.Payload) == 0 {
			return s.remove(n.String(), cur)
		}
		if sigdb {
			if _, err := efi.ParseSignatureLists(a.Payload); err != nil {
				return syscall.EINVAL
			}
		}
		return s.store(n, cur, attr, a.Payload, a.Time, false)
	}
	if len(a.Payload) == 0 {
		return 0
	}
	t := a.Time
	var base []byte
	if cur != nil {
		base = cur.data
		if t.Compare(cur.time) < 0 {
			t = cur.time
		}
	}
	nd := append(append([]byte(nil), base...), a.Payload...)
	if sigdb {
		if nd, err = efi.AppendSignatureLists(base, a.Payload); err != nil {
			return syscall.EINVAL
		}
	}
	return s.store(n, cur, attr, nd, t, true)
}

func (s *Store) remove(key string, cur *variable) syscall.Errno {
	if cur == nil {
		return syscall.ENOENT // EFI_NOT_FOUND
	}
	delete(s.vars, key)
	s.sets++
	return 0
}

// store checks the size limit and the quota and writes a new record.
func (s *Store) store(n efi.Name, cur *variable, attr efi.Attr, data []byte, t efi.Time, appendW bool) syscall.Errno {
	if n.StoredSize(len(data)) > s.cfg.maxVar {
		return syscall.EINVAL
	}
	if cur != nil && !appendW && bytes.Equal(cur.data, data) && cur.time == t {
		return 0 // edk2 UpdateVariable: same data, nothing written
	}
	if cur != nil && appendW && bytes.Equal(cur.data, data) {
		if t.Compare(cur.time) > 0 {
			cur.time = t
		}
		return 0 // everything appended was already there
	}
	if attr&efi.NonVolatile != 0 {
		need := recordSize(n, len(data))
		if s.used+need > s.cfg.capacity-s.cfg.reserve {
			return syscall.ENOSPC // EFI_OUT_OF_RESOURCES until reclaim
		}
		s.used += need
	}
	s.vars[n.String()] = &variable{name: n, attr: attr, data: append([]byte(nil), data...), time: t}
	s.sets++
	return 0
}
