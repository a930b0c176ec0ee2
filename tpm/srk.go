package tpm

import (
	"errors"
	"fmt"

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

// LoadSRK returns the persistent SRK if one is provisioned, else creates the
// standard ECC P-256 SRK as a transient object; Close flushes it.
func LoadSRK(t TPMSender) (*SRK, error) {
	if s, err := persistentSRK(t); err == nil {
		return s, nil
	}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: CreatePrimary(SRK): %w", ErrTPM, err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}.Execute(t)
		return nil, fmt.Errorf("%w: SRK public: %w", ErrTPM, err)
	}
	return &SRK{Handle: rsp.ObjectHandle, Name: rsp.Name, Public: *pub}, nil
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
