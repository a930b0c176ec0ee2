// Package uki reads and writes Unified Kernel Images: systemd-stub
// (systemd-stub(7), Debian systemd-boot-efi 252) with the kernel, the
// pre-launch initramfs, the command line and an os-release as PE sections,
// booted by the firmware from the ESP.
//
//	pe.go           ParsePE: a bounded PE32+ parser over debug/pe
//	authenticode.go the Authenticode digest in every bank (PCR 4)
//	signature.go    the WIN_CERTIFICATE / PKCS#7 signer and signed digest
//	assemble.go     Assemble: stub + sections at systemd-stub(7)'s addresses,
//	                moved up when the sizes need it; the PE checksum
//	measure.go      what the firmware, systemd-stub and the Linux EFI stub
//	                measure when the UKI boots (nextboot.Image)
//
// Nothing here signs: signing is go-uefi's Authenticode in efi/secureboot,
// on the build host. This package parses untrusted images (a UKI given to
// `slkit predict`), so it bounds every read and never hands bytes to a
// parser that can exit the process; it is fuzzed (FuzzParsePE).
package uki

import "github.com/slkit/slkit/internal/errkind"

var errFormat = errkind.New(errkind.Input, "not a usable PE image")

// ErrLayout: the stub and the sections cannot be put together (no room for
// the section headers, a stub that is signed or already a UKI).
var ErrLayout = errkind.New(errkind.Input, "cannot assemble the UKI")
