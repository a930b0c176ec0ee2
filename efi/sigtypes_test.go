package efi

import (
	"encoding/hex"
	"testing"
)

// TestSignatureTypeGUIDs checks the wire bytes: EFI_CERT_X509_GUID as it
// appears in the PK signature list OVMF 2022.11 measured into PCR 7, the
// other two from their UEFI 2.10 §32.4.1 definitions
// {0xc1c41626,0x504c,0x4092,{0xac,0xa9,0x41,0xf9,0x36,0x93,0x43,0x28}} and
// {0x3bd2a492,0x96c0,0x4079,{0xb4,0x20,0xfc,0xf9,0x8e,0xf1,0x03,0xed}}.
func TestSignatureTypeGUIDs(t *testing.T) {
	for _, c := range []struct {
		g    GUID
		want string
	}{
		{CertX509GUID, "a159c0a5e494a74a87b5ab155c2bf072"},
		{CertSHA256GUID, "2616c4c14c509240aca941f936934328"},
		{CertX509SHA256GUID, "92a4d23bc0967940b420fcf98ef103ed"},
	} {
		if got := hex.EncodeToString(c.g[:]); got != c.want {
			t.Errorf("%s: wire bytes %s, want %s", c.g, got, c.want)
		}
	}
}
