package verifier

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/go-attestation/attest"
	"github.com/google/go-tpm/tpm2"

	slattest "github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/internal/fsys"
)

// RecordFormat is the value of Record.Format.
const RecordFormat = "slkit-attest-record-v1"

// MaxRecordSize bounds a record file: three digests.
// MaxRecordSize bounds an activation record file.
const MaxRecordSize = 4 << 10

// Record is what the verifier keeps of a challenge (`slkit attest
// challenge --record`): which EK certificate and which AK name the
// credential was made for, and the SHA-256 of the secret inside. An
// evidence bundle passes the activation check when its EK certificate and
// AK are those and its activation secret hashes to that digest: only a TPM
// holding that EK and that AK could have recovered it (TPM 2.0 Part 1
// §24). The record holds no secret.
//
//	{"format": "slkit-attest-record-v1", "ek_certificate_sha256": "<hex>",
//	 "ak_name": "<hex>", "secret_sha256": "<hex>"}
type Record struct {
	Format       string            `json:"format"`
	EKCertSHA256 slattest.HexBytes `json:"ek_certificate_sha256"`
	AKName       slattest.HexBytes `json:"ak_name"`
	SecretSHA256 slattest.HexBytes `json:"secret_sha256"`
}

// Marshal writes the record as indented JSON.
func (r *Record) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	return append(b, '\n'), err
}

// ParseRecord parses a record file (at most 4 KiB, strict JSON).
func ParseRecord(b []byte) (*Record, error) {
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: record of %d bytes, more than %d", ErrMalformed, len(b), MaxRecordSize)
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: record: not a record document: %v", ErrMalformed, err)
	}
	if r.Format != RecordFormat || len(r.EKCertSHA256) != sha256.Size || len(r.SecretSHA256) != sha256.Size || len(r.AKName) == 0 || len(r.AKName) > 66 {
		return nil, fmt.Errorf("%w: record: want format %q with two SHA-256 digests and an AK name", ErrMalformed, RecordFormat)
	}
	return &r, nil
}

// akParams is the evidence's AK as go-attestation takes it.
func akParams(ev *slattest.Evidence) attest.AttestationParameters {
	return attest.AttestationParameters{
		Public: ev.AK.Public, CreateData: ev.AK.CreationData,
		CreateAttestation: ev.AK.CreationAttestation, CreateSignature: ev.AK.CreationSignature,
	}
}

// checkAK checks the AK's creation proof (go-attestation
// ActivationParameters.CheckAKParameters: a TPM-generated TPMS_ATTEST of
// the key's creation, signed by the key, for a restricted, fixedTPM,
// fixedParent, sensitiveDataOrigin key) and returns the AK's name.
func checkAK(ev *slattest.Evidence) ([]byte, error) {
	p := attest.ActivationParameters{AK: akParams(ev)}
	if err := p.CheckAKParameters(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAK, err)
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ev.AK.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: public area: %v", ErrAK, err)
	}
	name, err := tpm2.ObjectName(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: name: %v", ErrAK, err)
	}
	return name.Buffer, nil
}

// MakeChallenge is the verifier's half of credential activation: it
// verifies the evidence's EK certificate against the CAs and the AK's
// creation proof, then makes a credential to the certified EK for the AK's
// name with a fresh 32-byte secret (TPM2_MakeCredential done in software:
// go-attestation ActivationParameters.Generate). The challenge goes to the
// machine (`slkit attest activate`); the record stays with the verifier.
func MakeChallenge(ev *slattest.Evidence, cas *CAs) (*slattest.Challenge, *Record, error) {
	cert, err := cas.VerifyEK(ev.EK.Certificate)
	if err != nil {
		return nil, nil, err
	}
	name, err := checkAK(ev)
	if err != nil {
		return nil, nil, err
	}
	secret, ec, err := (&attest.ActivationParameters{EK: cert.PublicKey, AK: akParams(ev)}).Generate()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: make credential: %v", ErrAK, err)
	}
	certSum, secretSum := sha256.Sum256(cert.Raw), sha256.Sum256(secret)
	c := &slattest.Challenge{Format: slattest.ChallengeFormat, AKName: name, Credential: ec.Credential, Secret: ec.Secret}
	r := &Record{Format: RecordFormat, EKCertSHA256: certSum[:], AKName: name, SecretSHA256: secretSum[:]}
	return c, r, nil
}

// SaveChallenge writes the record (mode 0600: it stays with the verifier)
// and then the challenge for the machine, each replaced atomically; when
// the challenge cannot be written, the record is removed again.
func SaveChallenge(c *slattest.Challenge, r *Record, challengePath, recordPath string) error {
	cb, err := c.Marshal()
	if err != nil {
		return err
	}
	rb, err := r.Marshal()
	if err != nil {
		return err
	}
	if err := fsys.WriteFile(fsys.OS{}, recordPath, rb, 0o600); err != nil {
		return err
	}
	if err := fsys.WriteFile(fsys.OS{}, challengePath, cb, 0o644); err != nil {
		os.Remove(recordPath)
		return err
	}
	return nil
}

// checkActivation accepts the AK only when the evidence answers the
// record's challenge: same EK certificate, same AK name, and an
// activation secret whose SHA-256 is the record's (compared in constant
// time).
func checkActivation(ev *slattest.Evidence, r *Record, certRaw, akName []byte) error {
	sum := sha256.Sum256(certRaw)
	switch {
	case !bytes.Equal(sum[:], r.EKCertSHA256):
		return fmt.Errorf("%w: the record's challenge was made for another EK certificate (sha256 %x), not this one (%x)", ErrNotActivated, []byte(r.EKCertSHA256), sum)
	case !bytes.Equal(akName, r.AKName):
		return fmt.Errorf("%w: the record's challenge was made for the AK named %x, the evidence's AK is %x", ErrNotActivated, []byte(r.AKName), akName)
	case len(ev.Activation) == 0:
		return fmt.Errorf("%w: the evidence carries no activation secret (run slkit attest activate, then attest quote --activation)", ErrNotActivated)
	}
	got := sha256.Sum256(ev.Activation)
	if subtle.ConstantTimeCompare(got[:], r.SecretSHA256) != 1 {
		return fmt.Errorf("%w: the evidence's activation secret is not the one the record's challenge holds", ErrNotActivated)
	}
	return nil
}
