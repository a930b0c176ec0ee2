package secureboot

import "github.com/slkit/slkit/internal/errkind"

// SignFlags is a signing key asked for in text, as a command line gives
// it (`slkit initramfs build --uki`'s --sign-key FILE --sign-cert FILE):
// Signer checks the pair and loads the key. A nil field was not given.
type SignFlags struct {
	// Key is the db key's private key file and Cert its certificate
	// (LoadKey); both are given or neither.
	Key, Cert *string
}

// Signer returns the function that signs a PE image with the key f names
// (SignImage), or nil when f names none (the image stays unsigned). Half
// a pair is an ErrInput; a key LoadKey refuses is LoadKey's error.
func (f SignFlags) Signer() (func([]byte) ([]byte, error), error) {
	if (f.Key == nil) != (f.Cert == nil) {
		return nil, errkind.Errorf(ErrInput, "--sign-key and --sign-cert go together")
	}
	if f.Key == nil {
		return nil, nil
	}
	k, err := LoadKey(*f.Key, *f.Cert)
	if err != nil {
		return nil, err
	}
	return func(img []byte) ([]byte, error) { return SignImage(img, *k) }, nil
}
