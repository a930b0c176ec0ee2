package journal

import (
	"bytes"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// TestParseKeyFile: a key file's bytes are the key; an empty input and a
// malformed key are input errors naming the file, standard input as
// "stdin".
func TestParseKeyFile(t *testing.T) {
	key := testKey(3)
	pemPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("not DER")})
	for _, c := range []struct {
		path string
		b    []byte
		err  string // "" for none
	}{
		{"k.pub", pubOf(key), ""},
		{"-", pubOf(key), ""},
		{"-", nil, "stdin: no key on standard input"},
		{"k.pub", nil, "k.pub: empty file"},
		{"k.pub", []byte("short"), "k.pub: malformed key: neither a raw Ed25519 key nor PEM"},
		{"-", pemPub, "stdin: malformed key: the \"PUBLIC KEY\" block is not"},
	} {
		k, err := ParseKeyFile(c.path, c.b, ParsePublicKey)
		var ie *fsys.InputError
		switch {
		case c.err == "" && (err != nil || !bytes.Equal(k, pubOf(key))):
			t.Errorf("%s %q: %x, %v", c.path, c.b, k, err)
		case c.err != "" && (err == nil || !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), c.err) || k != nil):
			t.Errorf("%s %q: %x, %v; want %q", c.path, c.b, k, err, c.err)
		}
	}
	if _, err := ParseKeyFile("k", key.Seed(), ParsePrivateKey); err != nil {
		t.Errorf("a seed: %v", err)
	}
	if _, err := ParseKeyFile("k", []byte{1}, ParsePrivateKey); !errors.Is(err, errkind.Input) {
		t.Errorf("a private key of one byte: %v", err)
	}
}
