package nextboot

import (
	"bytes"
	"crypto/x509"
	"fmt"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/tpm"
)

// authority predicts PCR 7's authority events when db or dbx change or a
// new image boots, and refuses a change that would make the firmware
// refuse the boot image. The firmware verifies each image against the
// first db entry that verifies it and logs that entry once per boot
// (edk2 DxeImageVerificationLib): driver authorities come before "Calling
// EFI Application from Boot Option", the boot image's right before its
// PCR 4 event, a boot loader's after it.
func (m *model) authority(vs *values, changed map[efi.Name]bool, img *Image, ed *edits, note func(int, string)) error {
	dbChanged := changed[efi.Db] || changed[efi.Dbx]
	if !m.secureBootOn() || (!dbChanged && img == nil) {
		return nil
	}
	if m.bootApp < 0 {
		note(7, "the log shows no boot application to place its authority event before")
		return nil
	}
	oldDB, _, err := secDB(&values{known: m.logValues()}, efi.Db)
	if err != nil {
		return err
	}
	newDB, known, err := secDB(vs, efi.Db)
	if err != nil {
		return err
	}
	newDbx, knownX, err := secDB(vs, efi.Dbx)
	if err != nil {
		return err
	}
	if !known || !knownX {
		note(7, "db or dbx is not in the event log")
		return nil
	}
	var drivers, boot, later []varEvent
	for _, a := range m.auth {
		switch {
		case a.idx < m.calling:
			drivers = append(drivers, a)
		case a.idx < m.bootApp:
			boot = append(boot, a)
		default:
			later = append(later, a)
		}
	}
	for _, a := range drivers {
		if !dbChanged {
			break
		}
		if a.v == nil || !stable(oldDB, newDB, a.v.Data) {
			note(7, "the db entry that verified a firmware driver moves or leaves db")
		} else if c, err := certOf(a.v.Data); err == nil && revoked(newDbx, c) {
			note(7, "dbx revokes the certificate that verified a firmware driver")
		}
	}
	if img != nil {
		for _, a := range later {
			ed.drop[a.idx] = true // the new image is booted directly
		}
	} else if len(later) > 0 {
		note(7, "a boot loader's authority events may change with db")
	}
	sig, err := m.bootEntry(img, oldDB, newDB, newDbx, boot, note)
	if err != nil || sig == nil {
		return err
	}
	for _, a := range boot {
		ed.drop[a.idx] = true
	}
	for _, a := range drivers {
		if a.v != nil && bytes.Equal(a.v.Data, sig) {
			return nil // logged once per boot: a driver's check logged it already
		}
	}
	e, err := m.authorityEvent(sig)
	if err != nil {
		return err
	}
	ed.before[m.bootApp] = append(ed.before[m.bootApp], e)
	return nil
}

// bootEntry returns the db entry (EFI_SIGNATURE_DATA) that will verify
// the boot image: the new image's, or the one the current log shows for
// the image booted now. It refuses what would stop the next boot.
func (m *model) bootEntry(img *Image, oldDB, newDB, newDbx []entry, boot []varEvent, note func(int, string)) ([]byte, error) {
	refuse := func(format string, a ...any) ([]byte, error) {
		return nil, fmt.Errorf("%w: %s", ErrWouldNotBoot, fmt.Sprintf(format, a...))
	}
	if img != nil {
		sha := img.App[tpm.SHA256]
		if img.Signer == nil || img.Verifies == nil {
			return refuse("%s is not signed, and Secure Boot is on", img.Name)
		}
		if hashRevoked(newDbx, sha) {
			return refuse("dbx revokes %s (its SHA-256 Authenticode digest)", img.Name)
		}
		for _, c := range append([]*x509.Certificate{img.Signer}, img.Chain...) {
			if revoked(newDbx, c) {
				return refuse("dbx revokes %q, which signs %s", c.Subject.CommonName, img.Name)
			}
		}
		for _, e := range newDB {
			if e.typ != efi.CertX509GUID {
				continue
			}
			if c, err := certOf(e.data); err == nil && img.Verifies(c) {
				return e.data, nil
			}
		}
		for _, e := range newDB {
			if e.typ == efi.CertSHA256GUID && bytes.Equal(e.data[16:], sha) {
				return e.data, nil
			}
		}
		return refuse("no db entry verifies %s (signed by %q)", img.Name, img.Signer.Subject.CommonName)
	}
	if len(boot) != 1 || boot[0].v == nil {
		note(7, "the log shows no single authority event for the boot image, so which db entry verifies it is unknown")
		return nil, nil
	}
	sig := boot[0].v.Data
	name := "the db entry"
	c, cerr := certOf(sig)
	if cerr == nil {
		name = fmt.Sprintf("the db certificate %q", c.Subject.CommonName)
	}
	if position(newDB, sig) < 0 {
		return refuse("%s, which verifies the boot image booted now, would leave db", name)
	}
	if cerr == nil && revoked(newDbx, c) {
		return refuse("dbx revokes %s, which verifies the boot image booted now", name)
	}
	if d, ok := m.log.Events[m.bootApp].Digests[tpm.SHA256]; ok && hashRevoked(newDbx, d) {
		return refuse("dbx revokes the boot image booted now (its SHA-256 Authenticode digest %s)", d.Short())
	}
	if !stable(oldDB, newDB, sig) {
		note(7, "db entries before the one that verifies the boot image change: another one may verify it first")
		return nil, nil
	}
	return sig, nil
}
