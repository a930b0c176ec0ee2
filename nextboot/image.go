package nextboot

import (
	"crypto/x509"

	"github.com/slkit/slkit/tpm"
)

// Image is what booting an image (a UKI) measures, computed from its bytes
// (package initramfs/uki): its Authenticode digest and the events it logs
// itself once started.
type Image struct {
	// Name names the image in messages (its file).
	Name string
	// App is the Authenticode digest in every bank: the digest of the
	// firmware's PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION event.
	App tpm.Digests
	// Events are the events the image logs, in order (systemd-stub's PCR
	// 11, the Linux EFI stub's PCR 9), digests in every bank.
	Events []tpm.Event
	// EmbeddedCmdline: the image has a .cmdline section, so under Secure
	// Boot the boot option's load options are ignored (no PCR 12 event).
	EmbeddedCmdline bool
	// Signer is the Authenticode signer (nil: unsigned) and Chain the
	// certificates its signature carries; Verifies reports whether a db
	// certificate verifies it.
	Signer   *x509.Certificate
	Chain    []*x509.Certificate
	Verifies func(*x509.Certificate) bool
}
