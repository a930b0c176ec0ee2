package launch

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// CheckPolicy checks what package policy cannot: that every entry names a
// measurement profile this build knows.
func CheckPolicy(p *policy.Policy) error {
	for i, e := range p.Entries {
		if _, err := ProfileByName(e.Profile); err != nil {
			return fmt.Errorf("%w policy: entry %d %q: %w", policy.ErrMalformed, i+1, e.Name, err)
		}
	}
	return nil
}

// VerifyPolicy verifies a signed policy file under pub (policy.Verify) and
// checks its profiles (CheckPolicy).
func VerifyPolicy(signed []byte, pub ed25519.PublicKey) (*policy.Verified, error) {
	v, err := policy.Verify(signed, pub)
	if err != nil {
		return nil, err
	}
	if err := CheckPolicy(v.Policy); err != nil {
		return nil, err
	}
	return v, nil
}

// SignPolicy checks the policy document doc (policy.Parse, CheckPolicy)
// and signs its exact bytes with key (policy.Sign); it returns the signed
// policy and the document's policy.
func SignPolicy(doc []byte, key ed25519.PrivateKey) ([]byte, *policy.Policy, error) {
	p, err := policy.Parse(doc)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckPolicy(p); err != nil {
		return nil, nil, err
	}
	signed, err := policy.Sign(doc, key)
	return signed, p, err
}

// policyCheck compares the kernel's and initrd's SHA-256 with the policy
// entry's; a mismatch names the component, its path and both digests.
func policyCheck(pe *policy.Entry) func(Component, tpm.Digests) error {
	return func(c Component, ds tpm.Digests) error {
		var im *policy.Image
		switch c {
		case Kernel:
			im = &pe.Kernel
		case Initrd:
			im = pe.Initrd
		}
		if im == nil {
			return nil
		}
		got := ds[tpm.SHA256]
		want, err := hex.DecodeString(im.SHA256)
		if err != nil || !got.Equal(want) {
			return fmt.Errorf("%w: %s %s: sha256 %s, policy entry %q allows %s",
				ErrImageMismatch, c, im.Path, got.Short(), pe.Name, tpm.Digest(want).Short())
		}
		return nil
	}
}

// checkPinned asserts, before anything is handed over, that every image
// the policy entry pins matches its digest, whatever the profile measured:
// an image the profile measured is compared again with the digests
// recorded as it was measured; one the profile has no step for is hashed
// now, from its staged copy (the bytes kexec gets), and compared.
func checkPinned(pe *policy.Entry, e *Entry, measured map[Component]tpm.Digests) error {
	check := policyCheck(pe)
	pinned := []Component{Kernel}
	if pe.Initrd != nil {
		pinned = append(pinned, Initrd)
	}
	for _, c := range pinned {
		ds, ok := measured[c]
		if !ok {
			var err error
			if ds, ok, err = e.digest(c, []tpm.Alg{tpm.SHA256}); err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: %s pinned by policy entry %q was not staged", ErrImageMismatch, c, pe.Name)
			}
		}
		if err := check(c, ds); err != nil {
			return err
		}
	}
	return nil
}

// PolicyKeyBytes are the bytes of the LaunchPolicyKey component: the PKIX
// DER encoding of the key the policy verified under (its SHA-256 is the
// key's id, policy.KeyID).
func PolicyKeyBytes(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: policy key: %w", ErrEntry, err)
	}
	return der, nil
}
