package efi

import (
	"errors"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrNotSetupMode: a Secure Boot key set can be enrolled only in setup
// mode (no PK), where the firmware accepts the first PK.
var ErrNotSetupMode = errkind.New(errkind.Input, "not in Secure Boot setup mode")

// EnrollAttr are the attributes of the enrolment writes: PK, KEK and db
// are non-volatile, boot and runtime, time-based authenticated variables
// (UEFI 2.10 §3.3, §32.6.1).
const EnrollAttr = NonVolatile | BootserviceAccess | RuntimeAccess | TimeBasedAuthenticatedWriteAccess

// EnrollmentOrder is the order of the writes: db and KEK while the
// platform is still in setup mode, PK last (writing it leaves setup mode,
// UEFI 2.10 §32.3.1), as sbctl does.
var EnrollmentOrder = []Name{Db, KEK, PK}

// EnrollPatterns let the enrolment clear the immutable flag of PK, KEK
// and db, which efivarfs sets on every existing variable outside its own
// list (a db left by an earlier, interrupted enrolment).
var EnrollPatterns = []Pattern{{PK.Name, PK.GUID}, {KEK.Name, KEK.GUID}, {Db.Name, Db.GUID}}

// EnrollSecureBoot writes a key set in setup mode: data[n] is the
// EFI_VARIABLE_AUTHENTICATION_2 write for each of EnrollmentOrder (signed
// on the build host: this never sees a private key). It refuses, writing
// nothing, when the platform is not in setup mode or a write is not an
// authenticated signature list; afterwards it checks that the firmware
// left setup mode and holds each list. The firmware turns SecureBoot on
// at the next boot.
func (v *Vars) EnrollSecureBoot(data map[Name][]byte) error {
	for _, n := range EnrollmentOrder {
		d, ok := data[n]
		if !ok {
			return fmt.Errorf("%w: no %s write", ErrMalformed, n.Name)
		}
		a, err := ParseAuth2(d)
		if err != nil {
			return fmt.Errorf("%s write: %w", n.Name, err)
		}
		if lists, err := ParseSignatureLists(a.Payload); err != nil || len(lists) == 0 {
			return fmt.Errorf("%w %s write: the payload is not a signature list (%v)", ErrMalformed, n.Name, err)
		}
	}
	st, err := v.SecureBootState()
	if err != nil {
		return err
	}
	if !st.SetupMode {
		return fmt.Errorf("%w: SetupMode is 0 (a PK is enrolled): clear the keys in the firmware setup first", ErrNotSetupMode)
	}
	if _, err := v.Get(PK); err == nil {
		return fmt.Errorf("%w: a PK exists", ErrNotSetupMode)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	for i, n := range EnrollmentOrder {
		if err := v.Set(n, EnrollAttr, data[n]); err != nil {
			return fmt.Errorf("enrol %s (write %d of %d; the ones before it are written): %w", n.Name, i+1, len(EnrollmentOrder), err)
		}
	}
	for _, n := range EnrollmentOrder {
		a, _ := ParseAuth2(data[n])
		ok, err := v.holds(n, a.Payload)
		if err != nil {
			return fmt.Errorf("read back %s: %w", n.Name, err)
		}
		if !ok {
			return fmt.Errorf("read back %s: %w: the firmware does not hold the enrolled list", n.Name, ErrMalformed)
		}
	}
	if st, err = v.SecureBootState(); err != nil {
		return err
	}
	if st.SetupMode {
		return fmt.Errorf("%w: after enrolling PK the firmware is still in setup mode", ErrSecurity)
	}
	return nil
}

// holds reports whether n holds every signature of list.
func (v *Vars) holds(n Name, list []byte) (bool, error) {
	cur, err := v.Get(n)
	if err != nil {
		return false, err
	}
	return SignatureListsContain(cur.Data, list)
}
