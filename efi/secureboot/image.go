package secureboot

import (
	"bytes"
	"fmt"

	"github.com/foxboron/go-uefi/authenticode"
	"github.com/foxboron/go-uefi/pkcs7"
)

// SignImage returns the PE image img with an Authenticode signature by k
// appended (Microsoft Authenticode PE specification: SHA-256
// SpcIndirectDataContent in a PKCS#7 SignedData, in a WIN_CERTIFICATE of
// type WIN_CERT_TYPE_PKCS_SIGNED_DATA in the attribute certificate
// table), through go-uefi's authenticode.Parse and Sign. The signature has
// no authenticated attributes, so the same image and key give the same
// bytes. The image must be unsigned and its length a multiple of 8, so
// that the signed digest is the digest of the bytes as written (go-uefi
// pads the hashed data to 8 bytes).
func SignImage(img []byte, k Key) ([]byte, error) {
	if len(img)%8 != 0 {
		return nil, fmt.Errorf("%w: image length %d is not a multiple of 8", ErrInput, len(img))
	}
	p, err := authenticode.Parse(bytes.NewReader(img))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	if p.Datadir.Size != 0 || p.Datadir.VirtualAddress != 0 {
		return nil, fmt.Errorf("%w: the image is signed already", ErrInput)
	}
	if _, err := p.Sign(k.Signer, k.Cert, pkcs7.NoAttr()); err != nil {
		return nil, fmt.Errorf("authenticode: %w", err)
	}
	return p.Bytes(), nil
}
