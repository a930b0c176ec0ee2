package policy

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/slkit/slkit/internal/strictjson"
)

// PayloadType is the DSSE payload type of a launch policy. It is covered by
// the signature (see PAE), so a signature over another kind of document
// cannot be passed off as a policy signature.
const PayloadType = "application/vnd.slkit.launch-policy+json"

// Limits on an envelope.
const (
	MaxEnvelopeSize = 2 << 20
	maxSignatures   = 16
	maxKeyID        = 256
)

// Envelope is a DSSE v1 envelope (github.com/secure-systems-lab/dsse,
// envelope.md):
//
//	{"payloadType":"application/vnd.slkit.launch-policy+json",
//	 "payload":"<base64 of the policy file's exact bytes>",
//	 "signatures":[{"keyid":"<hex SHA-256 of the PKIX public key>","sig":"<base64 Ed25519 signature>"}]}
//
// Each signature is Ed25519 over PAE(payloadType, payload). base64 is the
// standard alphabet with padding (RFC 4648 §4), nothing else accepted.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     []byte      `json:"-"`
	Signatures  []Signature `json:"-"`
}

// Signature is one signature of an envelope. KeyID is a hint only: it is
// not covered by the signature.
type Signature struct {
	KeyID string
	Sig   []byte
}

type envelopeJSON struct {
	PayloadType string    `json:"payloadType"`
	Payload     string    `json:"payload"`
	Signatures  []sigJSON `json:"signatures"`
}

type sigJSON struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// PAE is DSSE's pre-authentication encoding, the bytes that are signed:
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload
//
// with LEN the length in bytes as ASCII decimal and SP one space (0x20).
func PAE(payloadType string, payload []byte) []byte {
	b := []byte("DSSEv1 ")
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

var b64 = base64.StdEncoding.Strict()

// ParseEnvelope parses a signed policy file without verifying it. It fails
// closed on anything but one JSON object with exactly the three fields,
// spelled exactly so (internal/strictjson: encoding/json alone would take
// "Payload" for "payload", so that two readers could see two documents),
// strict base64, 1–16 signatures of 64 bytes.
func ParseEnvelope(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w envelope: %d bytes, more than %d", ErrMalformed, len(b), MaxEnvelopeSize)
	}
	var j envelopeJSON
	if err := strictjson.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w envelope: %w", ErrMalformed, err)
	}
	if j.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w envelope: payloadType %q, want %q", ErrMalformed, clip(j.PayloadType), PayloadType)
	}
	payload, err := b64.DecodeString(j.Payload)
	if err != nil || len(payload) == 0 {
		return nil, fmt.Errorf("%w envelope: payload is not non-empty standard base64", ErrMalformed)
	}
	if len(j.Signatures) == 0 || len(j.Signatures) > maxSignatures {
		return nil, fmt.Errorf("%w envelope: %d signatures, want 1-%d", ErrMalformed, len(j.Signatures), maxSignatures)
	}
	env := &Envelope{PayloadType: j.PayloadType, Payload: payload}
	for i, s := range j.Signatures {
		sig, err := b64.DecodeString(s.Sig)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return nil, fmt.Errorf("%w envelope: signature %d: want %d bytes of standard base64", ErrMalformed, i+1, ed25519.SignatureSize)
		}
		if len(s.KeyID) > maxKeyID {
			return nil, fmt.Errorf("%w envelope: signature %d: keyid longer than %d", ErrMalformed, i+1, maxKeyID)
		}
		env.Signatures = append(env.Signatures, Signature{KeyID: s.KeyID, Sig: sig})
	}
	return env, nil
}

// Marshal encodes the envelope as indented JSON with a trailing newline.
// Ed25519 signatures are deterministic, so signing the same payload with
// the same key gives the same file.
func (e *Envelope) Marshal() ([]byte, error) {
	j := envelopeJSON{PayloadType: e.PayloadType, Payload: b64.EncodeToString(e.Payload), Signatures: []sigJSON{}}
	for _, s := range e.Signatures {
		j.Signatures = append(j.Signatures, sigJSON{KeyID: s.KeyID, Sig: b64.EncodeToString(s.Sig)})
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Sign checks that payload is a valid policy document and returns the
// signed policy file: a DSSE envelope carrying payload's exact bytes and
// one Ed25519 signature by key over PAE(PayloadType, payload).
func Sign(payload []byte, key ed25519.PrivateKey) ([]byte, error) {
	if _, err := Parse(payload); err != nil {
		return nil, err
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w key: not an Ed25519 private key", ErrMalformed)
	}
	pub := key.Public().(ed25519.PublicKey)
	env := &Envelope{PayloadType: PayloadType, Payload: payload, Signatures: []Signature{{
		KeyID: KeyID(pub), Sig: ed25519.Sign(key, PAE(PayloadType, payload)),
	}}}
	return env.Marshal()
}

// Verified is a policy whose signature verified.
type Verified struct {
	Policy *Policy
	// Payload is the exact signed document.
	Payload []byte
	// KeyID identifies the key that verified it.
	KeyID string
}

// ParseSigned is the policy a signed policy file holds (ParseEnvelope,
// then Parse of its payload), its signature not checked: for a file
// whose signature is checked elsewhere (the pre-launch stage verifies it).
func ParseSigned(b []byte) (*Policy, error) {
	env, err := ParseEnvelope(b)
	if err != nil {
		return nil, err
	}
	return Parse(env.Payload)
}

// Verify checks the signed policy file under pub and only then parses the
// policy it carries. It returns ErrSignature unless a signature verifies
// under pub (the key IDs are not trusted, every signature is tried), and
// ErrMalformed for an envelope or a signed document that is malformed.
func Verify(signed []byte, pub ed25519.PublicKey) (*Verified, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w key: not an Ed25519 public key", ErrMalformed)
	}
	env, err := ParseEnvelope(signed)
	if err != nil {
		return nil, err
	}
	msg := PAE(env.PayloadType, env.Payload)
	ok := false
	for _, s := range env.Signatures {
		if ed25519.Verify(pub, msg, s.Sig) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: no signature of the policy verifies under key %s", ErrSignature, KeyID(pub))
	}
	p, err := Parse(env.Payload)
	if err != nil {
		return nil, err
	}
	return &Verified{Policy: p, Payload: env.Payload, KeyID: KeyID(pub)}, nil
}
