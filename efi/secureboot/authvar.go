package secureboot

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/cryptobyte"

	"github.com/foxboron/go-uefi/pkcs7"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/internal/fsys"
)

// AuthAttr are the attributes of PK, KEK, db and dbx: non-volatile, boot
// and runtime access, time-based authenticated writes (UEFI 2.10 §3.3).
const AuthAttr = efi.NonVolatile | efi.BootserviceAccess | efi.RuntimeAccess | efi.TimeBasedAuthenticatedWriteAccess

// EFITime converts t to the EFI_TIME of an EFI_VARIABLE_AUTHENTICATION_2
// descriptor: UTC, whole seconds, Pad1, Nanosecond, TimeZone, Daylight and
// Pad2 zero (UEFI 2.10 §8.2.2). go-uefi's NewEFITime takes local time,
// which a firmware comparing timestamps across machines and time zones
// would order wrongly; slkit always converts to UTC here.
func EFITime(t time.Time) efi.Time {
	u := t.UTC()
	return efi.Time{Year: uint16(u.Year()), Month: uint8(u.Month()), Day: uint8(u.Day()),
		Hour: uint8(u.Hour()), Minute: uint8(u.Minute()), Second: uint8(u.Second())}
}

// SignedData is what the signature of a time-based authenticated write
// covers (UEFI 2.10 §8.2.2, step 2 of "Using the
// EFI_VARIABLE_AUTHENTICATION_2 descriptor"): VariableName (UTF-16LE,
// no terminating NUL) ‖ VendorGuid ‖ Attributes (UINT32, APPEND_WRITE
// included for an append) ‖ TimeStamp ‖ Data.
func SignedData(n efi.Name, attr efi.Attr, ts efi.Time, payload []byte) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(n.Name)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	b = append(b, n.GUID[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(attr))
	b = append(b, ts.Bytes()...)
	return append(b, payload...)
}

// SignVariable returns the data of a time-based authenticated write of
// payload to n (attr with AppendWrite for an append): the
// EFI_VARIABLE_AUTHENTICATION_2 descriptor, whose PKCS#7 SignedData by k
// (go-uefi's pkcs7, detached, without authenticated attributes, without
// the ContentInfo wrapper: §8.2.2 "CertData"), followed by payload. An
// empty payload is a signed delete.
func SignVariable(n efi.Name, attr efi.Attr, payload []byte, k Key, t time.Time) ([]byte, error) {
	ts := EFITime(t)
	der, err := pkcs7.SignPKCS7(k.Signer, k.Cert, pkcs7.OIDData, SignedData(n, attr, ts, payload), pkcs7.NoAttr())
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", n, err)
	}
	s := cryptobyte.String(der)
	_, signed, err := pkcs7.ParseContentInfo(&s)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", n, err)
	}
	return (&efi.Auth2{Time: ts, Cert: signed, Payload: payload}).Marshal(), nil
}

// Enrollment is the three authenticated writes that enrol a key set, in
// the order they must be written: db (signed by KEK), KEK (signed by PK),
// PK (self-signed), each setting its variable to one X.509 signature list
// of the role's certificate owned by the set's owner (what sbctl enrols).
type Enrollment struct {
	Writes []EnrollWrite
}

// EnrollWrite is one write of an Enrollment.
type EnrollWrite struct {
	Var  efi.Name
	Data []byte // EFI_VARIABLE_AUTHENTICATION_2 ‖ signature list
}

// EnrollFile is the file name Enrollment.WriteDir uses for a variable.
func EnrollFile(n efi.Name) string { return n.Name + ".auth" }

// EnrollmentVars are the variables of an enrolment, in write order.
var EnrollmentVars = []efi.Name{efi.Db, efi.KEK, efi.PK}

// signerOf is the role whose key signs updates of each variable.
var signerOf = map[efi.Name]Role{efi.Db: RoleKEK, efi.KEK: RolePK, efi.PK: RolePK}

// roleOf is the role whose certificate each variable holds.
var roleOf = map[efi.Name]Role{efi.Db: RoleDB, efi.KEK: RoleKEK, efi.PK: RolePK}

// Enroll builds the writes with timestamp t. db holds the set's db
// certificate first, then each of extraDB (DER certificates, each in a
// list of its own, owned by the set's owner): e.g. the certificate a
// kernel is signed with, which a Secure Boot kernel in lockdown needs in
// db (its .platform keyring) to kexec that kernel.
func (ks *KeySet) Enroll(t time.Time, extraDB ...[]byte) (*Enrollment, error) {
	en := &Enrollment{}
	for _, n := range EnrollmentVars {
		lists := []efi.SignatureList{efi.X509List(ks.Owner, ks.Keys[roleOf[n]].Cert.Raw)}
		if n == efi.Db {
			for _, c := range extraDB {
				lists = append(lists, efi.X509List(ks.Owner, c))
			}
		}
		list, err := efi.MarshalSignatureLists(lists)
		if err != nil {
			return nil, err
		}
		data, err := SignVariable(n, AuthAttr, list, ks.Keys[signerOf[n]], t)
		if err != nil {
			return nil, err
		}
		en.Writes = append(en.Writes, EnrollWrite{Var: n, Data: data})
	}
	return en, nil
}

// WriteDir stores each write as dir/NAME.auth (atomically).
func (en *Enrollment) WriteDir(dir string) error {
	for _, w := range en.Writes {
		if err := fsys.WriteFile(fsys.OS{}, filepath.Join(dir, EnrollFile(w.Var)), w.Data, 0o644); err != nil {
			return err
		}
	}
	return os.Chmod(dir, 0o700)
}

// AppendDB returns the data of an authenticated append of cert (an X.509
// signature list owned by owner) to db, signed by kek: queue it with
// `slkit efi queue append db-… --attr NV|BS|RT|AT --file F`.
func AppendDB(owner efi.GUID, cert []byte, kek Key, t time.Time) ([]byte, error) {
	list, err := efi.MarshalSignatureLists([]efi.SignatureList{efi.X509List(owner, cert)})
	if err != nil {
		return nil, err
	}
	return SignVariable(efi.Db, AuthAttr|efi.AppendWrite, list, kek, t)
}
