package tpm

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/google/go-tpm/tpm2"
)

// SRKHandle is the persistent handle of the Storage Root Key (TCG TPM v2.0
// Provisioning Guidance §7.8: 0x81000001).
const SRKHandle = tpm2.TPMHandle(0x81000001)

// SRK is the storage key sealed objects are created under: the persistent
// key at SRKHandle when one is provisioned, else the ECC P-256 SRK created
// from the standard template (TCG EK Credential Profile §B.4.5 style
// "ECCSRKTemplate"), which the owner seed makes the same key every time.
type SRK struct {
	Handle tpm2.TPMHandle
	Name   tpm2.TPM2BName
	Public tpm2.TPMTPublic
	// Persistent is true for the provisioned key at SRKHandle.
	Persistent bool
}

// ErrSRKMismatch is returned when the TPM's SRK is not the key a sealed
// file records: the file was sealed on another TPM, the owner hierarchy
// was cleared since, or the file's SRK was replaced.
var ErrSRKMismatch = errkind.New(errkind.Verify, "sealed under another SRK")

// LoadSRK returns the persistent SRK if one is provisioned, else creates the
// standard ECC P-256 SRK as a transient object; Close flushes it. The
// name the TPM gives is checked to be the name of the public key it gives.
func LoadSRK(t TPMSender) (*SRK, error) {
	if s, err := persistentSRK(t); err == nil {
		return s, nil
	}
	return templateSRK(t)
}

// templateSRK creates the standard ECC P-256 SRK as a transient object.
func templateSRK(t TPMSender) (*SRK, error) {
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: CreatePrimary(SRK): %w", ErrTPM, err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err == nil {
		err = checkName(pub, rsp.Name)
	}
	if err != nil {
		tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}.Execute(t)
		return nil, fmt.Errorf("%w: SRK public: %w", ErrTPM, err)
	}
	return &SRK{Handle: rsp.ObjectHandle, Name: rsp.Name, Public: *pub}, nil
}

// checkName checks that name is the name of pub (Part 1 §16).
func checkName(pub *tpm2.TPMTPublic, name tpm2.TPM2BName) error {
	want, err := tpm2.ObjectName(pub)
	if err != nil {
		return err
	}
	if !bytes.Equal(want.Buffer, name.Buffer) {
		return errors.New("the TPM's name for the key is not the name of its public area")
	}
	return nil
}

// SRKFor returns the TPM's SRK that the sealed file s was sealed under,
// or ErrSRKMismatch when the TPM has no such key: the persistent SRK, or
// the SRK created from the standard template (the same key when slkit
// provisioned it; also tried when another key is persistent). The file's
// recorded SRK is checked first (its name is the name of its public key,
// ErrSealedTampered otherwise), so a match means that the public key in
// the file, which the unseal session is salted to, is the TPM's own.
// Nothing is sent that depends on the PIN or carries the secret.
func SRKFor(t TPMSender, s *Sealed) (*SRK, *tpm2.TPMTPublic, error) {
	pub, err := s.SRK.verified()
	if err != nil {
		return nil, nil, err
	}
	srk, err := LoadSRK(t)
	if err != nil {
		return nil, nil, err
	}
	if !Digest(srk.Name.Buffer).Equal(s.SRK.Name) && srk.Persistent {
		if tmpl, err := templateSRK(t); err == nil {
			srk = tmpl
		}
	}
	if !Digest(srk.Name.Buffer).Equal(s.SRK.Name) {
		srk.Close(t)
		return nil, nil, fmt.Errorf("%w: this TPM's storage root key is not the one the file was sealed under (sealed on another TPM, the owner hierarchy was cleared, or the file was altered)", ErrSRKMismatch)
	}
	return srk, pub, nil
}

// persistentSRK reads the key at SRKHandle and checks that it is a storage
// key (restricted, decrypt, fixedTPM/fixedParent).
func persistentSRK(t TPMSender) (*SRK, error) {
	rsp, err := tpm2.ReadPublic{ObjectHandle: SRKHandle}.Execute(t)
	if err != nil {
		return nil, err
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		return nil, err
	}
	if err := checkName(pub, rsp.Name); err != nil {
		return nil, err
	}
	a := pub.ObjectAttributes
	if !a.Restricted || !a.Decrypt || a.SignEncrypt || !a.FixedTPM || !a.FixedParent {
		return nil, errors.New("object at 0x81000001 is not a storage key")
	}
	return &SRK{Handle: SRKHandle, Name: rsp.Name, Public: *pub, Persistent: true}, nil
}

// ProvisionSRK makes the standard ECC P-256 SRK persistent at SRKHandle
// (TPM2_EvictControl with owner authorization, assumed empty). It does
// nothing when a storage key is already there.
func ProvisionSRK(t TPMSender) (*SRK, error) {
	if s, err := persistentSRK(t); err == nil {
		return s, nil
	}
	s, err := LoadSRK(t)
	if err != nil {
		return nil, err
	}
	defer s.Close(t)
	_, err = tpm2.EvictControl{
		Auth:             tpm2.TPMRHOwner,
		ObjectHandle:     tpm2.NamedHandle{Handle: s.Handle, Name: s.Name},
		PersistentHandle: SRKHandle,
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: EvictControl(SRK -> 0x81000001): %w", ErrTPM, err)
	}
	return persistentSRK(t)
}

// Close flushes a transient SRK; a persistent one stays.
func (s *SRK) Close(t TPMSender) error {
	if s.Persistent {
		return nil
	}
	_, err := tpm2.FlushContext{FlushHandle: s.Handle}.Execute(t)
	return err
}

// SRKReport is the SRK as `slkit srk provision` reports it: its
// persistent handle and its Name.
type SRKReport struct {
	Handle string `json:"handle"`
	Name   Digest `json:"name"`
}

// Report is the SRK's handle (hex) and Name.
func (s *SRK) Report() *SRKReport {
	return &SRKReport{Handle: fmt.Sprintf("%#x", uint32(s.Handle)), Name: Digest(s.Name.Buffer)}
}

// Text is the report in one line.
func (r *SRKReport) Text() string { return fmt.Sprintf("SRK at %s, name %s\n", r.Handle, r.Name) }
