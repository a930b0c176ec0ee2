package tpm

import (
	"errors"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/google/go-tpm/tpm2"
)

// MaxSecret is the largest secret a sealed data object holds
// (MAX_SYM_DATA, Part 2 §10.4.4): seal a key, not a file.
const MaxSecret = 128

// MaxPIN is the longest PIN: a sealed object's authValue is at most the
// size of its name algorithm's digest (Part 1 §19.6.4.3), SHA-256 here.
const MaxPIN = 32

// Errors of the sizes of a secret and a PIN.
var (
	ErrSecretSize = errkind.New(errkind.Input, "secret size")
	ErrPINSize    = errkind.New(errkind.Input, "PIN size")
)

type sealConfig struct {
	pin    []byte
	events []Event
}

// SealOption configures Seal.
type SealOption func(*sealConfig)

// WithPIN requires a PIN (the object's authValue, checked through
// PolicyAuthValue). The PIN is subject to the TPM's dictionary-attack
// protection.
func WithPIN(pin []byte) SealOption { return func(c *sealConfig) { c.pin = pin } }

// WithExpectedEvents records the events expected to produce the sealed PCR
// values, so that a refusal can name the first event that differs.
func WithExpectedEvents(ev []Event) SealOption { return func(c *sealConfig) { c.events = ev } }

// sealedTemplate is a sealed data object (Part 1 §27.3.2): keyed hash with a
// null scheme, bound to this TPM and parent, usable only through its policy.
func sealedTemplate(policy []byte) tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgKeyedHash,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM: true, FixedParent: true, AdminWithPolicy: true,
		},
		AuthPolicy: tpm2.TPM2BDigest{Buffer: policy},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{
			Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull},
		}),
	}
}

// Seal creates a sealed data object holding secret under the SRK, released
// only when policy is satisfied. policy.Values are the PCR values to seal
// to: the TPM's current ones, or predicted values for the next launch
// (forward sealing). The secret and the PIN travel in TPM2_Create's
// inSensitive parameter, encrypted by a session salted to the SRK.
func Seal(t TPMSender, secret []byte, policy *SealPolicy, opts ...SealOption) (*Sealed, error) {
	cfg := sealConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if len(secret) == 0 || len(secret) > MaxSecret {
		return nil, fmt.Errorf("%w: %d bytes; a sealed object holds 1-%d bytes (seal a key, not a file)", ErrSecretSize, len(secret), MaxSecret)
	}
	policy.PIN = policy.PIN || cfg.pin != nil
	if policy.PIN && len(cfg.pin) == 0 {
		return nil, fmt.Errorf("%w: the policy requires a PIN but it is empty", ErrPINSize)
	}
	if len(cfg.pin) > MaxPIN {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrPINSize, len(cfg.pin), MaxPIN)
	}
	digest, err := policy.Digest()
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	srk, err := LoadSRK(t)
	if err != nil {
		return nil, err
	}
	defer srk.Close(t)
	sess := tpm2.HMAC(policyHash, 16,
		tpm2.Salted(srk.Handle, srk.Public),
		tpm2.AESEncryption(128, tpm2.EncryptIn))
	rsp, err := tpm2.Create{
		ParentHandle: tpm2.AuthHandle{Handle: srk.Handle, Name: srk.Name, Auth: sess},
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			UserAuth: tpm2.TPM2BAuth{Buffer: cfg.pin},
			Data:     tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
		}},
		InPublic: tpm2.New2B(sealedTemplate(digest)),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: Create(sealed object): %w", ErrTPM, err)
	}
	exp := Expected{PCRs: *NewPCRs()}
	for _, i := range policy.PCRs {
		exp.Set(policy.Bank, i, policy.Values[i])
	}
	sel := map[int]bool{}
	for _, i := range policy.PCRs {
		sel[i] = true
	}
	for _, e := range cfg.events {
		if sel[e.PCR] && e.Type != EvNoAction {
			exp.Events = append(exp.Events, e)
		}
	}
	s := &Sealed{
		Version: SealedVersion, Kind: sealedKind,
		SRK: SealedSRK{Persistent: srk.Persistent, Name: srk.Name.Buffer,
			Public: tpm2.Marshal(srk.Public)},
		Public:  tpm2.Marshal(rsp.OutPublic),
		Private: tpm2.Marshal(rsp.OutPrivate),
		Policy: SealedPolicy{Bank: policy.Bank, PCRs: policy.PCRs, PIN: policy.PIN,
			Locality: policy.Locality, Digest: digest, Counter: policy.Counter.sealed()},
		Expected: exp,
	}
	if srk.Persistent {
		s.SRK.Handle = uint32(srk.Handle)
	}
	return s, nil
}

// CurrentPolicy returns a SealPolicy for the TPM's current values of pcrs
// in bank, with PolicyLocality(2) when a DRTM PCR (17–22) is selected.
func CurrentPolicy(t TPMSender, bank Alg, pcrs []int) (*SealPolicy, error) {
	vals, err := ReadPCRs(t, Selection{bank: pcrs})
	if err != nil {
		return nil, err
	}
	return PolicyFor(bank, pcrs, vals)
}

// PolicyFor returns a SealPolicy for pcrs in bank with values taken from
// vals (for example a prediction), with PolicyLocality(2) when a DRTM PCR
// (17–22) is selected.
func PolicyFor(bank Alg, pcrs []int, vals *PCRs) (*SealPolicy, error) {
	if len(pcrs) == 0 {
		return nil, errors.New("no PCRs selected")
	}
	p := &SealPolicy{Bank: bank, PCRs: pcrs, Values: map[int]Digest{}}
	for _, i := range pcrs {
		v, ok := vals.Get(bank, i)
		if !ok {
			return nil, fmt.Errorf("no %s value for PCR %d", bank, i)
		}
		if len(v) != bank.Size() {
			return nil, fmt.Errorf("%s PCR %d value is %d bytes", bank, i, len(v))
		}
		p.Values[i] = v
		if i >= 17 && i <= 22 {
			p.Locality = LocalityTwo
		}
	}
	return p, nil
}
