package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/attest/attesttest"
)

// attestFiles are a booted machine's files, as the CLI takes them.
type attestFiles struct {
	m                   *attesttest.Machine
	dir                 string
	fw, pre, drtm, ca   string
	policy, pub, images string
}

func writeAttestFiles(t *testing.T, m *attesttest.Machine) *attestFiles {
	t.Helper()
	f := &attestFiles{m: m, dir: t.TempDir(), images: m.Images}
	chain, err := m.CA.Chain()
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, m.Pub)})
	for name, b := range map[string][]byte{"fw.bin": m.Logs.Firmware, "pre.bin": m.Logs.PreLaunch, "drtm.bin": m.Logs.DRTM,
		"ca.pem": chain, "policy.signed": m.Signed, "policy.pub": pubPEM} {
		writeDRTMFile(t, f.dir, name, b)
	}
	f.fw, f.pre, f.drtm, f.ca = f.path("fw.bin"), f.path("pre.bin"), f.path("drtm.bin"), f.path("ca.pem")
	f.policy, f.pub = f.path("policy.signed"), f.path("policy.pub")
	return f
}

func mustPKIX(t *testing.T, k any) []byte {
	b, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *attestFiles) path(n string) string { return filepath.Join(f.dir, n) }

// run runs slkit with the machine's TPM.
func (f *attestFiles) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	return runSlkit(t, nil, append([]string{"--tpm", f.m.Spec}, args...)...)
}

func (f *attestFiles) quote(t *testing.T, nonce, out string, extra ...string) cliResult {
	t.Helper()
	return f.run(t, append([]string{"attest", "quote", "--nonce", nonce, "--out", f.path(out),
		"--firmware-log", f.fw, "--prelaunch-log", f.pre, "--drtm-log", f.drtm}, extra...)...)
}

func (f *attestFiles) verify(t *testing.T, ev, nonce string, extra ...string) cliResult {
	t.Helper()
	return runSlkit(t, nil, append([]string{"attest", "verify", f.path(ev), "--nonce", nonce, "--ek-ca", f.ca,
		"--record", f.path("record.json"), "--policy", f.policy, "--policy-key", f.pub, "--images", f.images}, extra...)...)
}

// TestAttestCLI: the whole round trip through the CLI on a booted swtpm
// with an EK certificate — quote (enrollment), challenge, activate,
// quote with the activation secret, verify against the signed policy,
// export — and each bad input of the issue as one line with exit 1 or 3.
func TestAttestCLI(t *testing.T) {
	f := writeAttestFiles(t, attesttest.Boot(t, filepath.Join(t.TempDir(), "ca"), "drtm"))
	n0, n1 := hex.EncodeToString(attesttest.Nonce(t)), hex.EncodeToString(attesttest.Nonce(t))
	r := f.quote(t, n0, "enroll.json")
	if r.code != 0 || !strings.Contains(r.stdout, "EK certificate from NV 0x1c00002; quotes sha1, sha256, sha384, sha512 over PCR 0-23; logs "+f.fw+", "+f.pre+", "+f.drtm) {
		t.Fatalf("quote: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = runSlkit(t, nil, "attest", "challenge", f.path("enroll.json"), "--ek-ca", f.ca, "--out", f.path("challenge.json"), "--record", f.path("record.json"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "challenge for AK 000b") {
		t.Fatalf("challenge: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = f.run(t, "attest", "activate", f.path("challenge.json"), "--out", f.path("secret"))
	if st, err := os.Stat(f.path("secret")); r.code != 0 || err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Fatalf("activate: %d %s %s %v", r.code, r.stdout, r.stderr, err)
	}
	if r = f.quote(t, n1, "ev.json", "--activation", f.path("secret")); r.code != 0 || !strings.Contains(r.stdout, "activation secret included") {
		t.Fatalf("quote --activation: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = f.verify(t, "ev.json", n1)
	if r.code != 0 || !strings.Contains(r.stdout, `launched: policy entry "drtm", dynamic launch`) || r.stderr != "" {
		t.Fatalf("verify: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("attest verify:\n%s", r.stdout)
	r = runSlkit(t, nil, "attest", "export", f.path("ev.json"), "--tpm2-tools", f.path("tools"))
	if r.code != 0 || strings.Count(r.stdout, "tpm2_checkquote -u ak.pem") != 4 {
		t.Fatalf("export: %d %s %s", r.code, r.stdout, r.stderr)
	}

	good := mustRead(t, f.path("ev.json"))
	writeDRTMFile(t, f.dir, "truncated.json", good[:len(good)/2])
	writeDRTMFile(t, f.dir, "garbled.json", append([]byte("\x00\x01garbage"), good...))
	writeDRTMFile(t, f.dir, "other-ca.pem", selfSignedCA(t))
	writeDRTMFile(t, f.dir, "zeros.bin", make([]byte, 4096))
	if r = f.quote(t, n1, "part.json", "--activation", f.path("secret"), "--pcrs", "0-7"); r.code != 0 {
		t.Fatalf("quote --pcrs 0-7: %d %s", r.code, r.stderr)
	}
	for _, c := range []struct {
		name string
		r    func() cliResult
		code int
		want string
	}{
		{"truncated bundle", func() cliResult { return f.verify(t, "truncated.json", n1) }, 1, f.path("truncated.json") + ": malformed attestation data: truncated JSON"},
		{"garbled bundle", func() cliResult { return f.verify(t, "garbled.json", n1) }, 1, f.path("garbled.json") + ": malformed attestation data: not JSON"},
		{"wrong nonce", func() cliResult { return f.verify(t, "ev.json", n0) }, 3, "quote nonce is not the verifier's: the sha1 quote is over nonce " + n1},
		{"EK certificate from another CA", func() cliResult { return f.verify(t, "ev.json", n1, "--ek-ca", f.path("other-ca.pem")) }, 3,
			"EK certificate not trusted: \"CN=unknown\" issued by \"CN=swtpm-localca\": x509: certificate signed by unknown authority"},
		{"quote over other PCRs", func() cliResult { return f.verify(t, "part.json", n1) }, 3, "the quotes do not cover the logs: the firmware log extends PCR 9, which the sha1 quote does not cover"},
		{"empty DRTM log buffer", func() cliResult { return f.quote(t, n1, "x.json", "--drtm-log", f.path("zeros.bin")) }, 1,
			f.path("zeros.bin") + ": empty DRTM log buffer: the 4096-byte buffer holds only zero bytes"},
		{"bad nonce", func() cliResult { return f.quote(t, "0102zz", "x.json") }, 1, "--nonce: bad nonce: not hex"},
		{"no record", func() cliResult {
			return runSlkit(t, nil, "attest", "verify", f.path("ev.json"), "--nonce", n1, "--ek-ca", f.ca)
		}, 1, "--record is required"},
		{"policy without images", func() cliResult {
			return runSlkit(t, nil, "attest", "verify", f.path("ev.json"), "--nonce", n1, "--ek-ca", f.ca, "--record", f.path("record.json"), "--policy", f.policy, "--policy-key", f.pub)
		}, 1, "--images is required"},
	} {
		r := c.r()
		if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want %d with %q", c.name, r.code, r.stderr, c.code, c.want)
		}
	}
	if _, err := os.Stat(f.path("x.json")); err == nil {
		t.Error("a refused quote wrote its output")
	}
}

// selfSignedCA is a CA certificate (PEM) of another authority.
func selfSignedCA(t *testing.T) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another TPM vendor"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
