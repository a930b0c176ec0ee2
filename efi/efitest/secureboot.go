package efitest

import "github.com/slkit/slkit/efi"

// The Secure Boot modes, as edk2's AuthVariableLib keeps them (UEFI 2.10
// §32.3), for a store that has them (WithVariable(efi.SetupMode, …)): a
// store without a SetupMode variable models firmware without Secure Boot
// and is left alone.

// platformMode follows a PK write: enrolling a PK leaves setup mode
// (SetupMode 0), deleting it enters setup mode again (SetupMode 1).
// SecureBoot changes only at the next boot. Called with s.mu held.
func (s *Store) platformMode() {
	sm, ok := s.vars[efi.SetupMode.String()]
	if !ok {
		return
	}
	_, hasPK := s.vars[efi.PK.String()]
	sm.data = []byte{1}
	if hasPK {
		sm.data = []byte{0}
	}
}

// secureBootAtBoot sets the modes at a reset of a store that models
// Secure Boot: SetupMode 1 without a PK, and SecureBoot on when a PK is
// enrolled (edk2 creates SecureBootEnable enabled with the first PK).
// Both are volatile, re-created at every boot. Called with s.mu held.
func (s *Store) secureBootAtBoot() {
	_, hasPK := s.vars[efi.PK.String()]
	setup, sb := byte(1), byte(0)
	if hasPK {
		setup, sb = 0, 1
	}
	for _, x := range []struct {
		n efi.Name
		v byte
	}{{efi.SetupMode, setup}, {efi.SecureBoot, sb}} {
		s.vars[x.n.String()] = &variable{name: x.n, attr: efi.BootserviceAccess | efi.RuntimeAccess, data: []byte{x.v}}
	}
}
