package secureboot

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
)

func TestSignFlagsSigner(t *testing.T) {
	dir := t.TempDir()
	if err := testKeys(t).Write(dir); err != nil {
		t.Fatal(err)
	}
	path := func(name string) *string { p := filepath.Join(dir, name); return &p }
	empty := ""

	if sign, err := (SignFlags{}).Signer(); sign != nil || err != nil {
		t.Errorf("no key: Signer = %v, %v; want nil, nil", sign != nil, err)
	}
	sign, err := SignFlags{Key: path(keyFile(RoleDB)), Cert: path(certFile(RoleDB))}.Signer()
	if err != nil || sign == nil {
		t.Fatalf("db key: Signer = %v, %v", sign != nil, err)
	}
	// The signer is SignImage's: an image of the wrong length is refused.
	if _, err := sign(make([]byte, 7)); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "not a multiple of 8") {
		t.Errorf("signing 7 bytes: %v", err)
	}

	for _, tc := range []struct {
		name string
		f    SignFlags
		want string // a part of the error's text
	}{
		{"key only", SignFlags{Key: path(keyFile(RoleDB))}, "--sign-key and --sign-cert go together"},
		{"cert only", SignFlags{Cert: path(certFile(RoleDB))}, "--sign-key and --sign-cert go together"},
		{"empty pair", SignFlags{Key: &empty, Cert: &empty}, ""},
		{"another key's certificate", SignFlags{Key: path(keyFile(RoleDB)), Cert: path(certFile(RoleKEK))}, "does not belong to certificate"},
		{"missing key", SignFlags{Key: path("nope.key"), Cert: path(certFile(RoleDB))}, "nope.key"},
	} {
		sign, err := tc.f.Signer()
		if err == nil || sign != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Signer = %v, %v; want an error with %q", tc.name, sign != nil, err, tc.want)
			continue
		}
		if tc.want == "--sign-key and --sign-cert go together" && (err.Error() != tc.want || !errors.Is(err, errkind.Input)) {
			t.Errorf("%s: %v is not exactly the input error %q", tc.name, err, tc.want)
		}
	}
}
