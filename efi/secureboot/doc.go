// Package secureboot makes what a machine's own Secure Boot chain needs,
// on the build host: a PK/KEK/db key set, the time-based authenticated
// writes that enrol it (UEFI 2.10 §8.2.2, §32.3), and Authenticode
// signatures of PE images (the pre-launch UKI), with
// github.com/foxboron/go-uefi's PKCS#7 and Authenticode code.
//
// The enrolment itself runs in the machine, in setup mode, and only
// writes the signed bytes made here (efi.Vars.EnrollSecureBoot): the
// private keys never enter an image, and go-uefi's signing code (which
// pulls in net/http) stays out of the image's slkit binary.
//
// Everything signed here is reproducible for the same inputs: RSA
// PKCS#1 v1.5 signatures are deterministic, and the PKCS#7 SignedData is
// built without authenticated attributes (go-uefi would otherwise add a
// signing-time attribute from the clock). Timestamps of authenticated
// writes are UTC (EFITime).
package secureboot

import "github.com/slkit/slkit/internal/errkind"

// ErrInput is a key, certificate or image slkit cannot use.
var ErrInput = errkind.New(errkind.Input, "Secure Boot input")
