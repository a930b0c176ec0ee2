package policy

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// TestEnvelopeKeysAreCaseSensitive is the two-documents attack: encoding/json
// matches object keys case-insensitively, so "payload" and "Payload" (or a
// key with U+017F LATIN SMALL LETTER LONG S, which folds to "s") would both
// fill the payload: slkit would enforce one document while another reader
// of the same measured bytes sees the other. Only exactly spelled keys are
// accepted.
func TestEnvelopeKeysAreCaseSensitive(t *testing.T) {
	key := testKey(7)
	pub := key.Public().(ed25519.PublicKey)
	benign := []byte(validDoc)
	evil := []byte(strings.Replace(validDoc, `"cmdline": ""`, `"cmdline": "init=/bin/sh"`, 1))
	sig := func(p []byte) string {
		return base64.StdEncoding.EncodeToString(ed25519.Sign(key, PAE(PayloadType, p)))
	}
	b := base64.StdEncoding.EncodeToString
	for name, env := range map[string]string{
		"payload and Payload": `{"payloadType":"` + PayloadType + `","payload":"` + b(benign) + `","Payload":"` + b(evil) +
			`","signatures":[{"keyid":"","sig":"` + sig(evil) + `"}]}`,
		"PAYLOAD alone":      `{"payloadType":"` + PayloadType + `","PAYLOAD":"` + b(evil) + `","signatures":[{"keyid":"","sig":"` + sig(evil) + `"}]}`,
		"long s":             `{"payloadType":"` + PayloadType + `","payload":"` + b(evil) + `","\u017fignatures":[{"keyid":"","sig":"` + sig(evil) + `"}]}`,
		"Sig in a signature": `{"payloadType":"` + PayloadType + `","payload":"` + b(evil) + `","signatures":[{"keyid":"","Sig":"` + sig(evil) + `"}]}`,
	} {
		v, err := Verify([]byte(env), pub)
		if !errors.Is(err, ErrMalformed) {
			var got string
			if v != nil {
				got = v.Policy.Entries[1].Cmdline
			}
			t.Errorf("%s: %v (rescue cmdline %q), want ErrMalformed", name, err, got)
		}
	}
}

// TestPolicyKeysAreCaseSensitive: the same for the signed document.
func TestPolicyKeysAreCaseSensitive(t *testing.T) {
	for name, doc := range map[string]string{
		"Entries beside entries": strings.Replace(validDoc, `"entries": [`, `"Entries": [], "entries": [`, 1),
		"Version":                strings.Replace(validDoc, `"version"`, `"Version"`, 1),
		"Cmdline beside cmdline": strings.Replace(validDoc, `"cmdline": ""`, `"cmdline": "", "Cmdline": "init=/bin/sh"`, 1),
		"SHA256":                 strings.Replace(validDoc, `"sha256"`, `"SHA256"`, 1),
		"require_DRTM":           strings.Replace(validDoc, `"require_drtm"`, `"require_DRTM"`, 1),
	} {
		if p, err := Parse([]byte(doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: parsed (%v), want ErrMalformed", name, p != nil)
		}
	}
}
