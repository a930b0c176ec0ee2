package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// ChallengeFormat is the value of Challenge.Format.
const ChallengeFormat = "slkit-attest-challenge-v1"

// MaxChallengeSize bounds a challenge file: two TPM structures and a name.
// MaxChallengeSize bounds a challenge file.
const MaxChallengeSize = 64 << 10

// Challenge is what a verifier sends to the machine (`slkit attest
// challenge` writes it, `slkit attest activate` reads it): the credential
// of TPM 2.0 Part 1 §24 made to the machine's EK for the name of its AK,
//
//	{"format": "slkit-attest-challenge-v1", "ak_name": "<hex TPM2B_NAME contents>",
//	 "credential": "<base64 TPM2B_ID_OBJECT>", "secret": "<base64 TPM2B_ENCRYPTED_SECRET>"}
//
// (credential and secret with their TPM2B size prefix, as TPM2_MakeCredential
// returns them). Only a TPM holding both that EK and a key of that name can
// recover the secret inside.
type Challenge struct {
	Format     string   `json:"format"`
	AKName     HexBytes `json:"ak_name"`
	Credential []byte   `json:"credential"`
	Secret     []byte   `json:"secret"`
}

// Marshal writes the challenge as indented JSON.
func (c *Challenge) Marshal() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	return append(b, '\n'), err
}

// ParseChallenge parses a challenge file (at most 64 KiB, strict JSON).
func ParseChallenge(b []byte) (*Challenge, error) {
	if len(b) > MaxChallengeSize {
		return nil, fmt.Errorf("%w: challenge of %d bytes, more than %d", ErrMalformed, len(b), MaxChallengeSize)
	}
	var c Challenge
	if err := strictJSON(b, &c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Challenge) validate() error {
	if c.Format != ChallengeFormat {
		return fmt.Errorf("%w: challenge format %q, this slkit reads %q", ErrMalformed, clip(c.Format), ChallengeFormat)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"ak_name", c.AKName}, {"credential", c.Credential}, {"secret", c.Secret}} {
		if err := checkField("challenge "+f.name, f.b, maxTPMStruct, true); err != nil {
			return err
		}
	}
	return nil
}

// Activate answers a challenge on this TPM: it creates the EK (as the
// evidence names it) and the AK, checks that the challenge is for this
// AK's name, and recovers the secret with TPM2_ActivateCredential (Part 3
// §12.5). The EK is authorized by a policy session satisfying its
// PolicySecret(TPM_RH_ENDORSEMENT) policy; that session is salted to the
// EK and encrypts the response, so the secret does not cross the TPM
// interface in clear. A credential made for another EK or another key is
// refused by the TPM (ErrActivation).
func Activate(t transport.TPM, c *Challenge) ([]byte, error) {
	ek, err := loadEK(t)
	if err != nil {
		return nil, err
	}
	defer ek.close(t)
	ak, err := createAK(t)
	if err != nil {
		return nil, err
	}
	defer ak.close(t)
	if !bytes.Equal(ak.name.Buffer, c.AKName) {
		return nil, fmt.Errorf("%w: the challenge is for the key named %s, this TPM's AK is %s",
			ErrActivation, hex.EncodeToString(c.AKName), hex.EncodeToString(ak.name.Buffer))
	}
	cred, err := tpm2.Unmarshal[tpm2.TPM2BIDObject](c.Credential)
	if err != nil {
		return nil, fmt.Errorf("%w: challenge credential: %w", ErrMalformed, err)
	}
	secret, err := tpm2.Unmarshal[tpm2.TPM2BEncryptedSecret](c.Secret)
	if err != nil {
		return nil, fmt.Errorf("%w: challenge secret: %w", ErrMalformed, err)
	}
	ekAuth := tpm2.Policy(tpm2.TPMAlgSHA256, 16, func(tp transport.TPM, s tpm2.TPMISHPolicy, nonceTPM tpm2.TPM2BNonce) error {
		_, err := tpm2.PolicySecret{
			AuthHandle:    tpm2.AuthHandle{Handle: tpm2.TPMRHEndorsement, Auth: tpm2.PasswordAuth(nil)},
			PolicySession: s,
			NonceTPM:      nonceTPM,
		}.Execute(tp)
		return err
	}, tpm2.Salted(ek.handle, ek.public), tpm2.AESEncryption(128, tpm2.EncryptOut))
	rsp, err := tpm2.ActivateCredential{
		ActivateHandle: ak.auth(),
		KeyHandle:      tpm2.AuthHandle{Handle: ek.handle, Name: ek.name, Auth: ekAuth},
		CredentialBlob: *cred,
		Secret:         *secret,
	}.Execute(t)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCIntegrity) || errors.Is(err, tpm2.TPMRCValue) || errors.Is(err, tpm2.TPMRCSize) || errors.Is(err, tpm2.TPMRCECCPoint) {
			return nil, fmt.Errorf("%w: the credential was not made for this TPM's EK and AK: %w", ErrActivation, err)
		}
		return nil, fmt.Errorf("%w: ActivateCredential: %w", tpm.ErrTPM, err)
	}
	return rsp.CertInfo.Buffer, nil
}
