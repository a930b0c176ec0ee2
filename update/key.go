package update

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// SealKey returns the encoder of policy.GenerateKeyFilesWith that keeps
// the journal signing key only as a TPM sealed object (`slkit efi keygen
// --seal-pcrs`): its 32-byte seed sealed on t to pol (tpm.Seal), with
// events recorded to explain refusals; the key file holds the sealed
// file's bytes.
func SealKey(t tpm.TPMSender, pol *tpm.SealPolicy, events []tpm.Event) func(ed25519.PrivateKey) ([]byte, error) {
	return func(k ed25519.PrivateKey) ([]byte, error) {
		s, err := tpm.Seal(t, k.Seed(), pol, tpm.WithExpectedEvents(events))
		if err != nil {
			return nil, err
		}
		return s.Marshal()
	}
}

// GenerateSealedKeyFiles makes a journal signing key pair on t whose
// private half exists only sealed to st's policy (SealKey): the sealed
// file at key (0600) and the public key at pub (policy.GenerateKeyFilesWith;
// force replaces existing files).
func GenerateSealedKeyFiles(t tpm.TPMSender, st *tpm.SealTarget, key, pub string, force bool) (*policy.KeygenReport, error) {
	pol, events, err := st.Policy(t, nil)
	if err != nil {
		return nil, err
	}
	p, err := policy.GenerateKeyFilesWith(rand.Reader, key, pub, force, SealKey(t, pol, events))
	if err != nil {
		return nil, err
	}
	return &policy.KeygenReport{KeyID: policy.KeyID(p), Private: key, Public: pub, SealedTo: pol.String()}, nil
}

// IsSealedKey tells a sealed key file (JSON, well over a kilobyte) from a
// plain one: raw keys are exactly 32 or 64 bytes, PEM starts with "-----".
func IsSealedKey(b []byte) bool {
	return len(b) != ed25519.SeedSize && len(b) != ed25519.PrivateKeySize && len(b) > 0 && b[0] == '{'
}

// UnsealKey unseals the journal signing key SealKey sealed in s, on t
// (only the launch it is sealed to can sign): a refusal is the error
// of tpm.Unseal, a secret that is not a seed ErrKeySeed.
func UnsealKey(t tpm.TPMSender, s *tpm.Sealed, opts ...tpm.UnsealOption) (ed25519.PrivateKey, error) {
	seed, err := tpm.Unseal(t, s, opts...)
	if err != nil {
		return nil, fmt.Errorf("the journal signing key: %w", err)
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, ErrKeySeed
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
