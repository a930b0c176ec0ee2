package secureboot

import (
	"bytes"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/foxboron/go-uefi/efi/signature"
	"github.com/foxboron/go-uefi/efi/util"
	"github.com/foxboron/go-uefi/efivar"

	"github.com/slkit/slkit/efi"
)

// requireTool returns the path of an independent tool, skipping (failing
// with SLKIT_REQUIRE_RIG=1) when `make deps` has not installed it.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
			t.Fatalf("%s (Debian %s) missing (SLKIT_REQUIRE_RIG=1): run make deps", name, pkg)
		}
		t.Skipf("%s (Debian %s) missing: run make deps", name, pkg)
	}
	return p
}

var (
	keysOnce sync.Once
	keys     *KeySet
	keysErr  error
)

// testKeys is one key set for the package's tests (RSA key generation is
// the slow part).
func testKeys(t *testing.T) *KeySet {
	t.Helper()
	keysOnce.Do(func() { keys, keysErr = GenerateKeySet(time.Now()) })
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys
}

func writePEM(t *testing.T, dir, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// opensslVerify checks a detached PKCS#7 SignedData (as CertData holds
// it: no ContentInfo) over content with `openssl cms -verify`, trusting
// only caCert. It returns openssl's output and whether it verified.
func opensslVerify(t *testing.T, signedData, content []byte, caCert []byte) (string, bool) {
	t.Helper()
	ossl := requireTool(t, "openssl", "openssl")
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2})
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(signedData) })
	})
	ci, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sig, data := filepath.Join(dir, "sig.der"), filepath.Join(dir, "data.bin")
	os.WriteFile(sig, ci, 0o600)
	os.WriteFile(data, content, 0o600)
	ca := writePEM(t, dir, "ca.pem", caCert)
	out, err := exec.Command(ossl, "cms", "-verify", "-inform", "DER", "-in", sig, "-content", data, "-binary",
		"-CAfile", ca, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
	return string(out), err == nil && strings.Contains(string(out), "Verification successful")
}

// TestSignVariableVerifiesWithOpenSSL: an authenticated write's signature
// verifies under the signer's certificate with openssl over the bytes
// UEFI 2.10 §8.2.2 says are signed, and not under another certificate nor
// over other bytes (negative controls).
func TestSignVariableVerifiesWithOpenSSL(t *testing.T) {
	ks := testKeys(t)
	list, _ := efi.MarshalSignatureLists([]efi.SignatureList{efi.X509List(ks.Owner, ks.Keys[RoleDB].Cert.Raw)})
	at := time.Date(2026, 3, 4, 23, 30, 7, 0, time.FixedZone("UTC-5", -5*3600))
	data, err := SignVariable(efi.Db, AuthAttr, list, ks.Keys[RoleKEK], at)
	if err != nil {
		t.Fatal(err)
	}
	a, err := efi.ParseAuth2(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := (efi.Time{Year: 2026, Month: 3, Day: 5, Hour: 4, Minute: 30, Second: 7}); a.Time != want {
		t.Errorf("timestamp %+v, want the UTC time %+v", a.Time, want)
	}
	if !bytes.Equal(a.Payload, list) {
		t.Error("the payload is not the signature list")
	}
	signed := SignedData(efi.Db, AuthAttr, a.Time, list)
	if out, ok := opensslVerify(t, a.Cert, signed, ks.Keys[RoleKEK].Cert.Raw); !ok {
		t.Fatalf("openssl does not verify the write under KEK: %s", out)
	}
	if _, ok := opensslVerify(t, a.Cert, signed, ks.Keys[RolePK].Cert.Raw); ok {
		t.Error("negative control: verified under PK, which did not sign")
	}
	if _, ok := opensslVerify(t, a.Cert, SignedData(efi.Db, AuthAttr|efi.AppendWrite, a.Time, list), ks.Keys[RoleKEK].Cert.Raw); ok {
		t.Error("negative control: verified over the attributes of an append")
	}
	again, _ := SignVariable(efi.Db, AuthAttr, list, ks.Keys[RoleKEK], at)
	if !bytes.Equal(again, data) {
		t.Error("signing the same write twice gave different bytes")
	}
}

// TestSignedDataMatchesGoUEFI: go-uefi's own SignEFIVariable signs the
// same bytes SignedData lays out (its signature verifies over them with
// openssl), and its signature database encoding equals
// efi.MarshalSignatureLists'.
func TestSignedDataMatchesGoUEFI(t *testing.T) {
	ks := testKeys(t)
	k := ks.Keys[RoleKEK]
	sdb := signature.NewSignatureDatabase()
	owner := util.StringToGUID(ks.Owner.String())
	if err := sdb.Append(signature.CERT_X509_GUID, *owner, ks.Keys[RoleDB].Cert.Raw); err != nil {
		t.Fatal(err)
	}
	mine, _ := efi.MarshalSignatureLists([]efi.SignatureList{efi.X509List(ks.Owner, ks.Keys[RoleDB].Cert.Raw)})
	if !bytes.Equal(sdb.Bytes(), mine) {
		t.Fatalf("signature list\n go-uefi %x\n slkit   %x", sdb.Bytes(), mine)
	}
	_, m, err := signature.SignEFIVariable(efivar.Db, sdb, k.Signer, k.Cert)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	m.Marshal(&buf)
	a, err := efi.ParseAuth2(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := opensslVerify(t, a.Cert, SignedData(efi.Db, efi.Attr(efivar.Db.Attributes), a.Time, a.Payload), k.Cert.Raw); !ok {
		t.Fatalf("go-uefi's signature does not verify over slkit's SignedData: %s", out)
	}
}

// TestEnrollmentOrderAndSigners: db, KEK, PK, each holding its role's
// certificate (db then an extra one), signed by KEK, PK and PK.
func TestEnrollmentOrderAndSigners(t *testing.T) {
	ks := testKeys(t)
	extra := ks.Keys[RolePK].Cert.Raw // any other certificate
	en, err := ks.Enroll(time.Now(), extra)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		v              efi.Name
		holds, signers Role
	}{{efi.Db, RoleDB, RoleKEK}, {efi.KEK, RoleKEK, RolePK}, {efi.PK, RolePK, RolePK}}
	if len(en.Writes) != len(want) {
		t.Fatalf("%d writes", len(en.Writes))
	}
	for i, w := range want {
		got := en.Writes[i]
		if got.Var != w.v {
			t.Fatalf("write %d is %s, want %s", i, got.Var, w.v)
		}
		a, err := efi.ParseAuth2(got.Data)
		if err != nil {
			t.Fatal(err)
		}
		lists, err := efi.ParseSignatureLists(a.Payload)
		n := 1
		if w.v == efi.Db {
			n = 2 // and the extra certificate, in a list of its own
			if len(lists) == 2 && !bytes.Equal(lists[1].Signatures[0].Data, extra) {
				t.Error("db's second list is not the extra certificate")
			}
		}
		if err != nil || len(lists) != n || lists[0].Type != efi.CertX509GUID || lists[0].Signatures[0].Owner != ks.Owner ||
			!bytes.Equal(lists[0].Signatures[0].Data, ks.Keys[w.holds].Cert.Raw) {
			t.Errorf("%s does not hold the %s certificate first (%d lists): %v", w.v, w.holds, len(lists), err)
		}
		if out, ok := opensslVerify(t, a.Cert, SignedData(w.v, AuthAttr, a.Time, a.Payload), ks.Keys[w.signers].Cert.Raw); !ok {
			t.Errorf("%s is not signed by %s: %s", w.v, w.signers, out)
		}
	}
}

// TestKeySetFiles: Write then LoadKeySet gives the same keys; Write never
// replaces a key; a key that does not match its certificate is refused.
func TestKeySetFiles(t *testing.T) {
	ks := testKeys(t)
	dir := filepath.Join(t.TempDir(), "keys")
	if err := ks.Write(dir); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "PK.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("PK.key: %v %v", st.Mode(), err)
	}
	back, err := LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Owner != ks.Owner {
		t.Error("owner GUID changed")
	}
	for _, r := range Roles {
		if !back.Keys[r].Cert.Equal(ks.Keys[r].Cert) {
			t.Errorf("%s certificate changed", r)
		}
	}
	if err := ks.Write(dir); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("second Write: %v", err)
	}
	if _, err := LoadKey(filepath.Join(dir, "PK.key"), filepath.Join(dir, "KEK.crt")); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("mismatched key: %v", err)
	}
}
