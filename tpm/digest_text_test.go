package tpm

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseDigestText(t *testing.T) {
	ds, err := ParseDigestText("sha256:0x" + strings.Repeat("ab", 32))
	if err != nil || len(ds) != 1 || !bytes.Equal(ds[SHA256], bytes.Repeat([]byte{0xab}, 32)) {
		t.Fatalf("%v %v", ds, err)
	}
	if ds, err := ParseDigestText("sha1:" + strings.Repeat("01", 20)); err != nil || len(ds[SHA1]) != 20 {
		t.Fatalf("sha1: %v %v", ds, err)
	}
	for _, bad := range []string{"", "sha256", "md5:00", "sha256:" + strings.Repeat("ab", 31), "sha256:zz", ":00"} {
		if _, err := ParseDigestText(bad); !errors.Is(err, ErrDigestText) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
