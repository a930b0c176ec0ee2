package efi

import "github.com/slkit/slkit/internal/fsys"

// AuthInput is a signed authenticated-variable write (.auth, UEFI 2.10
// §8.2.2) read from disk for enrolment (Vars.EnrollSecureBoot).
var AuthInput = fsys.Input{What: "authenticated variable", Max: 1 << 20}
