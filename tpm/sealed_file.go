package tpm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/internal/strictjson"

	"github.com/google/go-tpm/tpm2"
)

// SealedVersion is the version of the sealed-file format.
const SealedVersion = 1

const sealedKind = "slkit-sealed"

// MaxSealedSize bounds a sealed file: the TPM blobs are a few hundred
// bytes, the rest is the expected events of the sealed PCRs (which for
// firmware PCRs carry EFI variables such as db and dbx), twice with an
// update object.
const MaxSealedSize = 4 << 20

// Errors of a sealed file. Every problem with its content wraps
// ErrBadSealed; one that shows the file was altered after slkit wrote it
// (its parts do not agree with each other, or the TPM rejects its blobs)
// also wraps ErrSealedTampered, a verification failure.
var (
	ErrBadSealed      = errkind.New(errkind.Input, "bad sealed file")
	ErrSealedTampered = errkind.New(errkind.Verify, "sealed file tampered with")
)

// Sealed is a secret sealed to PCR values, as stored in a sealed file
// (versioned JSON):
//
//	{"version":1,"kind":"slkit-sealed",
//	 "srk":{"persistent":true,"handle":2164260865,"name":"<hex>","public":"<base64 TPMT_PUBLIC>"},
//	 "public":"<base64 TPM2B_PUBLIC>","private":"<base64 TPM2B_PRIVATE>",
//	 "policy":{"bank":"sha256","pcrs":[8,9],"pin":false,"locality":0,"digest":"<hex>"},
//	 "expected":{"banks":{"sha256":{"8":"<hex>","9":"<hex>"}},"events":[...]}}
//
// The public and private blobs are what TPM2_Create returned: the secret is
// encrypted under the SRK and only the TPM can recover it. The expected
// values and events are there to explain a refusal; the file is checked to
// be consistent (the object's policy must be the digest of the recorded
// policy and values), so an explanation can be trusted.
type Sealed struct {
	Version  int          `json:"version"`
	Kind     string       `json:"kind"`
	SRK      SealedSRK    `json:"srk"`
	Public   []byte       `json:"public"`
	Private  []byte       `json:"private"`
	Policy   SealedPolicy `json:"policy"`
	Expected Expected     `json:"expected"`
	// Update is a second sealed object holding the same secret for the
	// next launch, added by `slkit update prepare` and removed by `slkit
	// update finish`: sealed to the next launch's predicted values and,
	// when firmware PCRs were left out, bound to an update window
	// (Policy.Counter). Unseal tries it when the main object is refused.
	// It has no Update of its own and the same SRK. Files without it are
	// the original version-1 format.
	Update *Sealed `json:"update,omitempty"`
}

// SealedSRK identifies the parent key.
type SealedSRK struct {
	Persistent bool   `json:"persistent"`
	Handle     uint32 `json:"handle,omitempty"`
	Name       Digest `json:"name"`
	// Public is the SRK's TPMT_PUBLIC, which the unseal session is salted
	// to once Name is checked to be its name and the TPM's SRK's name
	// (SRKFor).
	Public []byte `json:"public"`
}

// SealedPolicy records the policy of the sealed object.
type SealedPolicy struct {
	Bank     Alg    `json:"bank"`
	PCRs     []int  `json:"pcrs"`
	PIN      bool   `json:"pin"`
	Locality uint8  `json:"locality"`
	Digest   Digest `json:"digest"`
	// Counter is the update-window bound (PolicyNV) of an Update object.
	Counter *SealedCounter `json:"counter,omitempty"`
}

// sealPolicy rebuilds the SealPolicy from the recorded policy and values.
func (s *Sealed) sealPolicy() *SealPolicy {
	vals := map[int]Digest{}
	for _, i := range s.Policy.PCRs {
		if v, ok := s.Expected.Get(s.Policy.Bank, i); ok {
			vals[i] = v
		}
	}
	p := &SealPolicy{Bank: s.Policy.Bank, PCRs: s.Policy.PCRs, Values: vals, PIN: s.Policy.PIN, Locality: s.Policy.Locality}
	if c := s.Policy.Counter; c != nil {
		p.Counter = &CounterBound{Counter: Counter{Index: c.Index, Name: c.Name}, Min: c.Min, Max: c.Max}
	}
	return p
}

// Marshal encodes the sealed file (indented JSON, trailing newline).
func (s *Sealed) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteSealed writes s to path with the atomic writer (mode 0600), as
// the EFI journal is written: a crash at any point leaves the old file or
// the new one, so adding an update object never loses the main object.
func WriteSealed(fs fsys.FS, path string, s *Sealed) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	return fsys.WriteFile(fs, path, b, 0o600)
}

// ParseSealed decodes and checks a sealed file (at most MaxSealedSize
// bytes, field names spelled exactly: internal/strictjson): known version
// and kind, decodable TPM blobs, a PCR selection with a value per PCR, an
// SRK name that is the name of the recorded SRK public key, and an object
// policy equal to the digest of the recorded policy and values.
func ParseSealed(b []byte) (*Sealed, error) {
	if len(b) > MaxSealedSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadSealed, len(b), MaxSealedSize)
	}
	var s Sealed
	if err := strictjson.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSealed, err)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if u := s.Update; u != nil {
		if err := u.check(); err != nil {
			return nil, fmt.Errorf("update object: %w", err)
		}
		if u.Update != nil || !u.SRK.Name.Equal(s.SRK.Name) || u.SRK.Persistent != s.SRK.Persistent || u.SRK.Handle != s.SRK.Handle || !bytes.Equal(u.SRK.Public, s.SRK.Public) {
			return nil, fmt.Errorf("%w: update object: nested update or a different SRK", ErrBadSealed)
		}
	}
	return &s, nil
}

// check validates one sealed object of a file (see ParseSealed).
func (s *Sealed) check() error {
	if s.Kind != sealedKind {
		return fmt.Errorf("%w: kind %q, want %q", ErrBadSealed, s.Kind, sealedKind)
	}
	if s.Version != SealedVersion {
		return fmt.Errorf("%w: version %d, this slkit reads version %d", ErrBadSealed, s.Version, SealedVersion)
	}
	if len(s.Policy.PCRs) == 0 || len(s.Policy.PCRs) > NumPCRs {
		return fmt.Errorf("%w: policy selects %d PCRs", ErrBadSealed, len(s.Policy.PCRs))
	}
	if !sort.IntsAreSorted(s.Policy.PCRs) {
		return fmt.Errorf("%w: policy PCRs not in ascending order", ErrBadSealed)
	}
	for k, i := range s.Policy.PCRs {
		if i < 0 || i >= NumPCRs || (k > 0 && s.Policy.PCRs[k-1] == i) {
			return fmt.Errorf("%w: policy PCR %d invalid or repeated", ErrBadSealed, i)
		}
		if _, ok := s.Expected.Get(s.Policy.Bank, i); !ok {
			return fmt.Errorf("%w: no expected %s value for PCR %d", ErrBadSealed, s.Policy.Bank, i)
		}
	}
	if _, err := s.Policy.Bank.Hash(); err != nil {
		return fmt.Errorf("%w: policy bank: %w", ErrBadSealed, err)
	}
	if s.Policy.Locality&^0x1F != 0 {
		return fmt.Errorf("%w: locality mask %#x", ErrBadSealed, s.Policy.Locality)
	}
	pub, err := s.objectPublic()
	if err != nil {
		return err
	}
	if _, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](s.Private); err != nil || len(s.Private) < 2 {
		return fmt.Errorf("%w: private blob: %v", ErrBadSealed, err)
	}
	if _, err := s.SRK.verified(); err != nil {
		return err
	}
	if c := s.Policy.Counter; c != nil {
		if _, err := c.bound(); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSealed, err)
		}
	}
	want, err := s.sealPolicy().Digest()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSealed, err)
	}
	if !bytes.Equal(want, s.Policy.Digest) || !bytes.Equal(want, pub.AuthPolicy.Buffer) {
		return fmt.Errorf("%w: %w: the object's policy is not the digest of the recorded PCR values", ErrBadSealed, ErrSealedTampered)
	}
	return nil
}

func (s *Sealed) objectPublic() (*tpm2.TPMTPublic, error) {
	p2, err := tpm2.Unmarshal[tpm2.TPM2BPublic](s.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: public blob: %w", ErrBadSealed, err)
	}
	pub, err := p2.Contents()
	if err != nil {
		return nil, fmt.Errorf("%w: public blob: %w", ErrBadSealed, err)
	}
	if pub.Type != tpm2.TPMAlgKeyedHash {
		return nil, fmt.Errorf("%w: object is not a sealed data object", ErrBadSealed)
	}
	return pub, nil
}

// verified returns the recorded SRK public key after checking that the
// recorded name is its name, nameAlg ‖ H_nameAlg(TPMT_PUBLIC) (Part 1
// §16), computed over the recorded bytes, which must be exactly one
// canonically encoded TPMT_PUBLIC of a storage key. The unseal session is
// salted to this key: a file whose key and name disagree was altered.
func (k *SealedSRK) verified() (*tpm2.TPMTPublic, error) {
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](k.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: SRK public: %w", ErrBadSealed, err)
	}
	if !bytes.Equal(tpm2.Marshal(p), k.Public) {
		return nil, fmt.Errorf("%w: %w: SRK public: not exactly one TPMT_PUBLIC", ErrBadSealed, ErrSealedTampered)
	}
	if p.Type != tpm2.TPMAlgECC && p.Type != tpm2.TPMAlgRSA {
		return nil, fmt.Errorf("%w: SRK is neither ECC nor RSA", ErrBadSealed)
	}
	a := p.ObjectAttributes
	if !a.Restricted || !a.Decrypt || a.SignEncrypt {
		return nil, fmt.Errorf("%w: %w: the recorded SRK is not a storage key", ErrBadSealed, ErrSealedTampered)
	}
	h, err := Alg(p.NameAlg).Hash()
	if err != nil {
		return nil, fmt.Errorf("%w: SRK name algorithm: %w", ErrBadSealed, err)
	}
	sum := h.New()
	sum.Write(k.Public)
	want := binary.BigEndian.AppendUint16(nil, uint16(p.NameAlg))
	if !bytes.Equal(k.Name, sum.Sum(want)) {
		return nil, fmt.Errorf("%w: %w: the SRK name is not the name of the recorded SRK public key", ErrBadSealed, ErrSealedTampered)
	}
	return p, nil
}
