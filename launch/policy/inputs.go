package policy

import (
	"crypto/ed25519"

	"github.com/slkit/slkit/internal/edkey"
	"github.com/slkit/slkit/internal/fsys"
)

// The inputs of the policy formats, each read whole (fsys.Input).
var (
	// DocumentInput is a policy document (Parse): at most MaxPolicySize
	// bytes.
	DocumentInput = fsys.Input{What: "policy document", Max: MaxPolicySize}
	// SignedInput is a signed policy (ParseEnvelope): at most
	// MaxEnvelopeSize bytes.
	SignedInput = fsys.Input{What: "signed policy", Max: MaxEnvelopeSize}
	// KeyInput is a key file (ParsePublicKey, ParsePrivateKey): at most
	// edkey.MaxFileSize bytes.
	KeyInput = fsys.Input{What: "key file", Max: edkey.MaxFileSize}
)

// ReadSigned reads the signed policy file signedPath (SignedInput, its
// exact bytes, not yet verified) and the public key file keyPath it must
// verify under (KeyInput, ParsePublicKey); a problem is an
// *fsys.InputError naming the file.
func ReadSigned(signedPath, keyPath string) ([]byte, ed25519.PublicKey, error) {
	signed, err := SignedInput.Read(signedPath)
	if err != nil {
		return nil, nil, err
	}
	pub, err := fsys.ReadInput(KeyInput, keyPath, ParsePublicKey)
	return signed, pub, err
}
