package policy

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
)

// TestReadSigned: the signed policy's exact bytes and the key, or an
// *fsys.InputError naming the file that is missing or malformed.
func TestReadSigned(t *testing.T) {
	dir := t.TempDir()
	key := testKey(3)
	signed, err := Sign([]byte(validDoc), key)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := MarshalPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sp, kp, bad := write("p.signed", signed), write("k.pub", pem), write("bad.pub", []byte("not a key\n"))
	missing := filepath.Join(dir, "missing")
	s, pub, err := ReadSigned(sp, kp)
	if err != nil || !bytes.Equal(s, signed) || !pub.Equal(key.Public()) {
		t.Fatalf("ReadSigned = %d bytes, %x, %v", len(s), pub, err)
	}
	for _, c := range []struct{ signed, key, named string }{
		{missing, kp, missing},
		{sp, missing, missing},
		{sp, bad, bad},
		{"", kp, "missing file name"},
	} {
		_, _, err := ReadSigned(c.signed, c.key)
		var in *fsys.InputError
		if !errors.As(err, &in) || !strings.Contains(err.Error(), c.named) {
			t.Errorf("ReadSigned(%q, %q) = %v, want an input error naming %s", c.signed, c.key, err, c.named)
		}
	}
}
