package launch

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/launch/policy"
)

// TestSignPolicy: a document whose profiles this build knows is signed
// over its exact bytes (ed25519.Verify of the DSSE PAE); one naming an
// unknown profile, or not a policy, is refused before signing.
func TestSignPolicy(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	doc := []byte(`{"version": 1, "entries": [{"name": "a", "kernel": {"path": "/k", "sha256": "` + strings.Repeat("ab", 32) + `"}, "cmdline": "", "profile": "measured-v1"}]}`)
	signed, p, err := SignPolicy(doc, key)
	if err != nil || len(p.Entries) != 1 {
		t.Fatalf("SignPolicy: %v", err)
	}
	env, err := policy.ParseEnvelope(signed)
	if err != nil || !bytes.Equal(env.Payload, doc) ||
		!ed25519.Verify(key.Public().(ed25519.PublicKey), policy.PAE(env.PayloadType, doc), env.Signatures[0].Sig) {
		t.Fatalf("the signature is not over the document: %v", err)
	}
	unknown := bytes.Replace(doc, []byte("measured-v1"), []byte("measured-v9"), 1)
	if signed, _, err := SignPolicy(unknown, key); signed != nil || !errors.Is(err, policy.ErrMalformed) || !strings.Contains(err.Error(), "measured-v9") {
		t.Errorf("unknown profile: %v", err)
	}
	if _, _, err := SignPolicy([]byte("{}"), key); !errors.Is(err, policy.ErrMalformed) {
		t.Errorf("not a policy: %v", err)
	}
}
