package efi_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

// enrollWrites are well-formed enrolment writes, each holding a one-entry
// X.509 list whose "certificate" names its variable (the fake firmware
// does not check PKCS#7 signatures; the rig test enrols real ones).
func enrollWrites() map[efi.Name][]byte {
	out := map[efi.Name][]byte{}
	for _, n := range efi.EnrollmentOrder {
		list, _ := efi.MarshalSignatureLists([]efi.SignatureList{efi.X509List(efi.GUID{1}, []byte("cert of "+n.Name))})
		out[n] = (&efi.Auth2{Time: efi.Time{Year: 2026, Month: 1, Day: 1}, Cert: []byte{0x30, 0}, Payload: list}).Marshal()
	}
	return out
}

func setupModeStore(mode byte) *efitest.Store {
	ro := efi.BootserviceAccess | efi.RuntimeAccess
	return efitest.New(efitest.WithVariable(efi.SetupMode, ro, []byte{mode}), efitest.WithVariable(efi.SecureBoot, ro, []byte{0}))
}

// TestEnrollSecureBoot: in setup mode the three writes land (db, KEK, PK),
// the firmware leaves setup mode, and SecureBoot is on after a reboot.
func TestEnrollSecureBoot(t *testing.T) {
	s := setupModeStore(1)
	v := s.Vars(efi.WithMutable(efi.EnrollPatterns...))
	w := enrollWrites()
	if err := v.EnrollSecureBoot(w); err != nil {
		t.Fatal(err)
	}
	for _, n := range efi.EnrollmentOrder {
		attr, data, ok := s.Value(n)
		a, _ := efi.ParseAuth2(w[n])
		if !ok || attr != efi.EnrollAttr || !bytes.Equal(data, a.Payload) {
			t.Errorf("%s: %v %s %x", n.Name, ok, attr, data)
		}
	}
	if s.Sets() != 3 {
		t.Errorf("%d writes, want 3", s.Sets())
	}
	s.Reboot()
	st, err := s.Vars().SecureBootState()
	if err != nil || !st.SecureBoot || st.SetupMode {
		t.Errorf("after the reboot: %+v %v", st, err)
	}
}

// TestEnrollRefusals: outside setup mode, or with a write that is not an
// authenticated signature list, nothing is written.
func TestEnrollRefusals(t *testing.T) {
	s := setupModeStore(0)
	if err := s.Vars().EnrollSecureBoot(enrollWrites()); !errors.Is(err, efi.ErrNotSetupMode) {
		t.Errorf("user mode: %v", err)
	}
	bad := enrollWrites()
	bad[efi.KEK] = []byte("not an authenticated write")
	s2 := setupModeStore(1)
	if err := s2.Vars().EnrollSecureBoot(bad); !errors.Is(err, efi.ErrMalformed) {
		t.Errorf("bad KEK write: %v", err)
	}
	missing := enrollWrites()
	delete(missing, efi.PK)
	if err := s2.Vars().EnrollSecureBoot(missing); !errors.Is(err, efi.ErrMalformed) {
		t.Errorf("no PK write: %v", err)
	}
	if s.Sets()+s2.Sets() != 0 {
		t.Errorf("%d writes after refusals, want none", s.Sets()+s2.Sets())
	}
}
