package nextboot

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/tpm"
)

// pcr7Config returns PCR 7's driver-config events of the next boot, one per
// current event (an opaque event kept as it is), or why PCR 7 cannot be
// predicted.
func (m *model) pcr7Config(vs *values, changed map[efi.Name]bool) ([]tpm.Event, string, error) {
	var out []tpm.Event
	seen := map[efi.Name]bool{}
	for _, ce := range m.config {
		old := m.log.Events[ce.idx]
		if ce.v == nil || ce.conv == opaque {
			if ce.v != nil && changed[ce.name()] {
				return nil, fmt.Sprintf("the firmware's %s event has a digest slkit cannot reproduce", ce.name().Name), nil
			}
			out = append(out, old)
			continue
		}
		n := ce.name()
		seen[n] = true
		v, known, err := vs.get(n)
		if err != nil {
			return nil, "", err
		}
		if !known {
			return nil, n.Name + "'s value is unknown", nil
		}
		nv := &tpm.UEFIVariableData{GUID: ce.v.GUID, Unicode: ce.v.Unicode}
		if v != nil {
			nv.Data = v.Data
		}
		e, err := m.rebuild(&old, nv, ce.conv)
		if err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	for n := range changed {
		if (n == efi.PK || n == efi.KEK || n == efi.Db || n == efi.Dbx) && !seen[n] {
			return nil, "the event log does not show " + n.Name + " measured", nil
		}
	}
	return out, "", nil
}

// entry is one EFI_SIGNATURE_DATA of db with its list's type.
type entry struct {
	typ  efi.GUID
	data []byte // owner ‖ signature
}

// entries flattens a signature database.
func entries(db []byte) ([]entry, error) {
	lists, err := efi.ParseSignatureLists(db)
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, l := range lists {
		for _, s := range l.Signatures {
			out = append(out, entry{l.Type, append(append([]byte(nil), s.Owner[:]...), s.Data...)})
		}
	}
	return out, nil
}

// position returns where the EFI_SIGNATURE_DATA sig is in es (-1: not).
func position(es []entry, sig []byte) int {
	for i, e := range es {
		if bytes.Equal(e.data, sig) {
			return i
		}
	}
	return -1
}

// stable reports whether sig is at the same position in both databases
// with the same entries before it: then the firmware, which takes the
// first db entry that verifies an image, picks it again.
func stable(old, new []entry, sig []byte) bool {
	i := position(old, sig)
	if i < 0 || position(new, sig) != i {
		return false
	}
	for k := 0; k < i; k++ {
		if !bytes.Equal(old[k].data, new[k].data) || old[k].typ != new[k].typ {
			return false
		}
	}
	return true
}

// revoked reports whether dbx revokes the certificate c: as an X.509
// entry, or by the SHA-256 of its TBSCertificate (EFI_CERT_X509_SHA256,
// the first 32 bytes of the entry).
func revoked(dbx []entry, c *x509.Certificate) bool {
	tbs := sha256.Sum256(c.RawTBSCertificate)
	for _, e := range dbx {
		sig := e.data[16:]
		switch {
		case e.typ == efi.CertX509GUID && bytes.Equal(sig, c.Raw):
			return true
		case e.typ == efi.CertX509SHA256GUID && len(sig) >= 32 && bytes.Equal(sig[:32], tbs[:]):
			return true
		}
	}
	return false
}

// hashRevoked reports whether dbx holds an image's SHA-256 Authenticode
// digest.
func hashRevoked(dbx []entry, digest []byte) bool {
	for _, e := range dbx {
		if e.typ == efi.CertSHA256GUID && bytes.Equal(e.data[16:], digest) {
			return true
		}
	}
	return false
}

// certOf parses the certificate of an X.509 EFI_SIGNATURE_DATA.
func certOf(sig []byte) (*x509.Certificate, error) {
	if len(sig) <= 16 {
		return nil, fmt.Errorf("short signature data")
	}
	return x509.ParseCertificate(sig[16:])
}

// authorityEvent is the EV_EFI_VARIABLE_AUTHORITY the firmware logs for a
// db entry: UEFI_VARIABLE_DATA{db, EFI_SIGNATURE_DATA}, digest H(all).
func (m *model) authorityEvent(sig []byte) (tpm.Event, error) {
	v := tpm.NewUEFIVariableData(efi.ImageSecurityGUID, efi.Db.Name, sig)
	if len(m.auth) > 0 && m.auth[0].v != nil {
		v.Unicode = m.auth[0].v.Unicode
	}
	return m.rebuild(&tpm.Event{PCR: 7, Type: tpm.EvEFIVariableAuthority}, v, digestAll)
}

// secDB reads db or dbx from the values (absent: empty).
func secDB(vs *values, n efi.Name) ([]entry, bool, error) {
	v, known, err := vs.get(n)
	if err != nil || !known {
		return nil, known, err
	}
	if v == nil {
		return nil, true, nil
	}
	es, err := entries(v.Data)
	if err != nil {
		return nil, true, fmt.Errorf("%w: %s: %v", ErrUnpredictable, n.Name, err)
	}
	return es, true, nil
}
