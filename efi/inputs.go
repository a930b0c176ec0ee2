package efi

import (
	"path/filepath"

	"github.com/slkit/slkit/internal/fsys"
)

// AuthInput is a signed authenticated-variable write (.auth, UEFI 2.10
// §8.2.2) read from disk for enrolment (Vars.EnrollSecureBoot).
var AuthInput = fsys.Input{What: "authenticated variable", Max: 1 << 20}

// ReadEnrollment reads the signed writes of a key set from dir, as `slkit
// efi keygen --secure-boot` writes them: DIR/NAME.auth for each of
// EnrollmentOrder (AuthInput), for Vars.EnrollSecureBoot.
func ReadEnrollment(dir string) (map[Name][]byte, error) {
	writes := map[Name][]byte{}
	for _, n := range EnrollmentOrder {
		b, err := AuthInput.Read(filepath.Join(dir, n.Name+".auth"))
		if err != nil {
			return nil, err
		}
		writes[n] = b
	}
	return writes, nil
}
