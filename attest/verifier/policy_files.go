package verifier

import (
	"os"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
)

// PolicyFiles names the launch policy a verification checks the launch
// against, as a command line gives it (`slkit attest verify`'s --policy,
// --policy-key and --images): Input reads it into a PolicyInput. A nil
// field was not given; once one is given, all three are needed.
type PolicyFiles struct {
	// Policy is the signed launch policy (policy.SignedInput).
	Policy *string
	// Key is the Ed25519 public key it verifies under (policy.KeyInput,
	// policy.ParsePublicKey).
	Key *string
	// Images is the directory the policy's kernel and initrd paths are
	// found under (PolicyInput.Images).
	Images *string
}

// Input returns the policy input f names, or nil when f names none. It
// reads the signed policy, then the key; a file that cannot be read is an
// *fsys.InputError naming it. The policy's signature is checked by
// Verify.
func (f PolicyFiles) Input() (*PolicyInput, error) {
	if f.Policy == nil && f.Key == nil && f.Images == nil {
		return nil, nil
	}
	for _, x := range []struct {
		flag  string
		value *string
	}{{"policy", f.Policy}, {"policy-key", f.Key}, {"images", f.Images}} {
		if x.value == nil {
			return nil, errkind.Errorf(errkind.Input, "verify: --%s is required", x.flag)
		}
	}
	signed, err := policy.SignedInput.Read(*f.Policy)
	if err != nil {
		return nil, err
	}
	pub, err := fsys.ReadInput(policy.KeyInput, *f.Key, policy.ParsePublicKey)
	if err != nil {
		return nil, err
	}
	return &PolicyInput{Signed: signed, Key: pub, Images: os.DirFS(*f.Images)}, nil
}
