package swtpm_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// nvRead reads a whole NV index with its own (empty) authorization, as
// tpm2_getekcertificate does.
func nvRead(t *testing.T, c tpm2.TPMHandle, tp *tpm.Conn) []byte {
	t.Helper()
	pub, err := tpm2.NVReadPublic{NVIndex: c}.Execute(tp)
	if err != nil {
		t.Fatalf("NV_ReadPublic %#x: %v", uint32(c), err)
	}
	nv, err := pub.NVPublic.Contents()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for off := 0; off < int(nv.DataSize); off += 512 {
		n := min(512, int(nv.DataSize)-off)
		rsp, err := tpm2.NVRead{
			AuthHandle: tpm2.AuthHandle{Handle: c, Name: pub.NVName, Auth: tpm2.PasswordAuth(nil)},
			NVIndex:    tpm2.NamedHandle{Handle: c, Name: pub.NVName},
			Size:       uint16(n), Offset: uint16(off),
		}.Execute(tp)
		if err != nil {
			t.Fatalf("NV_Read %#x: %v", uint32(c), err)
		}
		out = append(out, rsp.Data.Buffer...)
	}
	return out
}

// TestSwtpmEKCert: a TPM manufactured WithEKCert holds, in NV index
// 0x01c00002, a certificate that openssl verifies against the local CA
// (root + issuer) and whose key is the persistent RSA EK at 0x81010001
// (compared by openssl's and go-tpm's encodings of the key); all four PCR
// banks stay active; a second TPM made with the same CA directory gets
// another EK under the same root; a restart keeps the state.
func TestSwtpmEKCert(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		tpmtest.SkipOrFatal(t, err)
	}
	caDir := filepath.Join(t.TempDir(), "ca")
	dir := filepath.Join(t.TempDir(), "tpm")
	s := startSwtpm(t, dir, swtpm.WithDataSocket(), swtpm.WithEKCert(caDir))
	ca := swtpm.NewLocalCA(caDir)
	ekPEM := func(s *swtpm.Process) (cert []byte, key string) {
		c, err := tpm.Open(s.Spec())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if banks, err := tpm.ActiveBanks(c); err != nil || len(banks) != 4 {
			t.Errorf("active banks %v (%v), want sha1, sha256, sha384, sha512", banks, err)
		}
		der := nvRead(t, 0x01c00002, c)
		rp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(0x81010001)}.Execute(c)
		if err != nil {
			t.Fatalf("ReadPublic(0x81010001): %v", err)
		}
		pub, err := rp.OutPublic.Contents()
		if err != nil {
			t.Fatal(err)
		}
		k, err := tpm2.Pub(*pub)
		if err != nil {
			t.Fatal(err)
		}
		pkix, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}))
	}
	openssl := func(stdin []byte, args ...string) string {
		cmd := exec.Command("openssl", args...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	check := func(name string, der []byte, key string) {
		certPEM := filepath.Join(t.TempDir(), name+".pem")
		if err := os.WriteFile(certPEM, []byte(openssl(der, "x509", "-inform", "der")), 0o600); err != nil {
			t.Fatal(err)
		}
		if out := openssl(nil, "verify", "-CAfile", ca.Root, "-untrusted", ca.Issuer, certPEM); !strings.Contains(out, ": OK") {
			t.Errorf("%s: openssl verify: %s", name, out)
		}
		if got := openssl(nil, "x509", "-in", certPEM, "-noout", "-pubkey"); got != key {
			t.Errorf("%s: the certificate's key\n%s is not the EK at 0x81010001\n%s", name, got, key)
		}
	}
	der1, key1 := ekPEM(s)
	check("first", der1, key1)

	s2 := startSwtpm(t, filepath.Join(t.TempDir(), "tpm"), swtpm.WithDataSocket(), swtpm.WithEKCert(caDir))
	der2, key2 := ekPEM(s2)
	check("second", der2, key2)
	if key1 == key2 {
		t.Error("two manufactured TPMs have the same EK")
	}

	s.Close()
	s3 := startSwtpm(t, dir, swtpm.WithDataSocket(), swtpm.WithEKCert(caDir))
	if der3, _ := ekPEM(s3); !bytes.Equal(der3, der1) {
		t.Error("a restart on the same state changed the EK certificate")
	}
	if chain, err := ca.Chain(); err != nil || bytes.Count(chain, []byte("BEGIN CERTIFICATE")) != 2 {
		t.Errorf("LocalCA.Chain: %v, %d certificates", err, bytes.Count(chain, []byte("BEGIN CERTIFICATE")))
	}
}
