package verifier_test

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/attest/verifier"
	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
)

func TestPolicyFilesInput(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "k"), filepath.Join(dir, "k.pub")
	pk, err := policy.GenerateKeyFiles(rand.Reader, key, pub, false)
	if err != nil {
		t.Fatal(err)
	}
	signed, images := filepath.Join(dir, "policy.signed"), filepath.Join(dir, "images")
	if err := os.WriteFile(signed, []byte(`{"payload":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(images, "vmlinuz"), []byte("kernel"), 0o600); err != nil {
		t.Fatal(err)
	}

	if in, err := (verifier.PolicyFiles{}).Input(); in != nil || err != nil {
		t.Errorf("no files: Input = %v, %v; want nil, nil", in, err)
	}
	in, err := verifier.PolicyFiles{Policy: &signed, Key: &pub, Images: &images}.Input()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(in.Images, "vmlinuz"); string(in.Signed) != `{"payload":"x"}` || !in.Key.Equal(pk) || string(b) != "kernel" {
		t.Errorf("Input = %q, key %x, images %q %v", in.Signed, in.Key, b, err)
	}

	missing, empty := filepath.Join(dir, "missing"), ""
	for _, tc := range []struct {
		name      string
		f         verifier.PolicyFiles
		want      string // the error's text for a missing flag
		inputFile string // or the file an *fsys.InputError names
	}{
		{"images only", verifier.PolicyFiles{Images: &images}, "verify: --policy is required", ""},
		{"empty images only", verifier.PolicyFiles{Images: &empty}, "verify: --policy is required", ""},
		{"no key", verifier.PolicyFiles{Policy: &signed, Images: &images}, "verify: --policy-key is required", ""},
		{"no images", verifier.PolicyFiles{Policy: &signed, Key: &pub}, "verify: --images is required", ""},
		{"policy missing", verifier.PolicyFiles{Policy: &missing, Key: &missing, Images: &images}, "", missing},
		{"key missing", verifier.PolicyFiles{Policy: &signed, Key: &missing, Images: &images}, "", missing},
		{"key not a key", verifier.PolicyFiles{Policy: &signed, Key: &signed, Images: &images}, "", signed},
	} {
		in, err := tc.f.Input()
		if err == nil || in != nil {
			t.Errorf("%s: Input = %v, %v; want an error", tc.name, in, err)
			continue
		}
		var ie *fsys.InputError
		switch {
		case tc.want != "" && (err.Error() != tc.want || !errors.Is(err, errkind.Input)):
			t.Errorf("%s: %v, want the input error %q", tc.name, err, tc.want)
		case tc.inputFile != "" && (!errors.As(err, &ie) || ie.Path != tc.inputFile):
			t.Errorf("%s: %v is not an input error naming %s", tc.name, err, tc.inputFile)
		}
	}
}
