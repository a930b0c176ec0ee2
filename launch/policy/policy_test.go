package policy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const sha1hex = "0000000000000000000000000000000000000000000000000000000000000001"

const validDoc = `{
  "version": 1,
  "entries": [
    {"name": "default", "kernel": {"path": "/boot/vmlinuz", "sha256": "` + sha1hex + `"},
     "initrd": {"path": "/boot/initrd.img", "sha256": "` + sha1hex + `"},
     "cmdline": "console=ttyS0 msg=\"héllo\"", "profile": "measured-v1"},
    {"name": "rescue-2", "kernel": {"path": "/boot/vmlinuz", "sha256": "` + sha1hex + `"},
     "cmdline": "", "profile": "measured-v1", "require_drtm": true}
  ]
}
`

func TestParseValid(t *testing.T) {
	p, err := Parse([]byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 2 || p.Entries[0].Initrd == nil || p.Entries[1].Initrd != nil || !p.Entries[1].RequireDRTM {
		t.Fatalf("%+v", p)
	}
	if p.Entries[0].Cmdline != `console=ttyS0 msg="héllo"` {
		t.Fatalf("cmdline %q", p.Entries[0].Cmdline)
	}
	e, err := p.Entry("")
	if err != nil || e.Name != "default" {
		t.Fatalf("default entry %v %v", e, err)
	}
	if e, err := p.Entry("rescue-2"); err != nil || e.Name != "rescue-2" {
		t.Fatalf("%v %v", e, err)
	}
	if _, err := p.Entry("x"); !errors.Is(err, ErrNoEntry) {
		t.Fatal(err)
	}
}

func TestParseMalformed(t *testing.T) {
	entry := `{"name": "a", "kernel": {"path": "/k", "sha256": "` + sha1hex + `"}, "cmdline": "", "profile": "measured-v1"}`
	doc := func(entries ...string) string {
		return `{"version": 1, "entries": [` + strings.Join(entries, ",") + `]}`
	}
	for _, tc := range []struct{ name, doc, msg string }{
		{"unknown version", `{"version": 2, "entries": [], "new": true}`, "unknown version 2"},
		{"version as string", `{"version": "1", "entries": []}`, "version"},
		{"no version", `{"entries": []}`, `no "version"`},
		{"fractional version", `{"version": 1.0, "entries": []}`, "unknown version 1.0"},
		{"no entries", doc(), "no entries"},
		{"duplicate names", doc(entry, entry), `duplicate entry name "a"`},
		{"short hash", doc(strings.Replace(entry, sha1hex, sha1hex[2:], 1)), "want 64 lowercase hex digits"},
		{"uppercase hash", doc(strings.Replace(entry, sha1hex, strings.ToUpper("ab"+sha1hex[2:]), 1)), "want 64 lowercase hex digits"},
		{"non-hex hash", doc(strings.Replace(entry, sha1hex, "g"+sha1hex[1:], 1)), "want 64 lowercase hex digits"},
		{"unknown field", doc(strings.Replace(entry, `"cmdline"`, `"extra": 1, "cmdline"`, 1)), `unknown field "extra"`},
		{"duplicate key", doc(strings.Replace(entry, `"cmdline": ""`, `"cmdline": "", "cmdline": "evil"`, 1)), `duplicate key "cmdline"`},
		{"trailing data", doc(entry) + ` {}`, "after the JSON document"},
		{"relative path", doc(strings.Replace(entry, `"/k"`, `"k"`, 1)), "clean absolute file path"},
		{"dotdot path", doc(strings.Replace(entry, `"/k"`, `"/boot/../k"`, 1)), "clean absolute file path"},
		{"nul in cmdline", doc(strings.Replace(entry, `"cmdline": ""`, `"cmdline": "a\u0000b"`, 1)), "NUL"},
		{"bad name", doc(strings.Replace(entry, `"a"`, `"-a b"`, 1)), "name"},
		{"no profile", doc(strings.Replace(entry, `, "profile": "measured-v1"`, ``, 1)), "profile"},
		{"invalid utf8", doc(strings.Replace(entry, `"cmdline": ""`, "\"cmdline\": \"\xff\"", 1)), "UTF-8"},
		{"array", `[1]`, "not a JSON object"},
		{"empty", ``, "empty document"},
		{"truncated", doc(entry)[:40], "unexpected end of JSON input"},
	} {
		_, err := Parse([]byte(tc.doc))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want ErrMalformed with %q", tc.name, err, tc.msg)
		}
	}
	if _, err := Parse([]byte(doc(entry))); err != nil {
		t.Fatalf("base document: %v", err)
	}
}

// TestPAE checks the pre-authentication encoding against the example of
// the DSSE specification (protocol.md).
func TestPAE(t *testing.T) {
	got := PAE("http://example.com/HelloWorld", []byte("hello world"))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; string(got) != want {
		t.Fatalf("PAE %q, want %q", got, want)
	}
}

func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
}

func TestSignVerify(t *testing.T) {
	key := testKey(1)
	pub := key.Public().(ed25519.PublicKey)
	signed, err := Sign([]byte(validDoc), key)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Sign([]byte(validDoc), key)
	if !bytes.Equal(signed, again) {
		t.Fatal("signing is not deterministic")
	}
	v, err := Verify(signed, pub)
	if err != nil {
		t.Fatal(err)
	}
	if string(v.Payload) != validDoc || v.KeyID != KeyID(pub) || len(v.Policy.Entries) != 2 {
		t.Fatalf("verified %+v", v)
	}
	env, err := ParseEnvelope(signed)
	if err != nil {
		t.Fatal(err)
	}
	// The signature is Ed25519 over PAE(type, exact payload bytes).
	if !ed25519.Verify(pub, []byte("DSSEv1 40 application/vnd.slkit.launch-policy+json "+strconv.Itoa(len(validDoc))+" "+validDoc), env.Signatures[0].Sig) {
		t.Fatal("signature is not over the PAE of the exact payload")
	}

	// Tampering: every bit of the payload is covered.
	for _, bit := range []int{0, 7, 8*len(validDoc)/2 + 3, 8*len(validDoc) - 1} {
		e2 := *env
		e2.Payload = append([]byte(nil), env.Payload...)
		e2.Payload[bit/8] ^= 1 << (bit % 8)
		b, _ := e2.Marshal()
		if _, err := Verify(b, pub); !errors.Is(err, ErrSignature) {
			t.Errorf("payload bit %d flipped: %v", bit, err)
		}
	}
	e2 := *env
	e2.Signatures = []Signature{{KeyID: env.Signatures[0].KeyID, Sig: append([]byte(nil), env.Signatures[0].Sig...)}}
	e2.Signatures[0].Sig[10] ^= 0x40
	b, _ := e2.Marshal()
	if _, err := Verify(b, pub); !errors.Is(err, ErrSignature) {
		t.Errorf("signature bit flipped: %v", err)
	}
	if _, err := Verify(signed, testKey(2).Public().(ed25519.PublicKey)); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key: %v", err)
	}
	// A second signature by another key does not hide a good one, and the
	// key ID is not trusted.
	e2 = *env
	e2.Signatures = []Signature{{KeyID: KeyID(pub), Sig: make([]byte, 64)}, env.Signatures[0]}
	b, _ = e2.Marshal()
	if _, err := Verify(b, pub); err != nil {
		t.Errorf("good signature after a bad one: %v", err)
	}
	// Another payload type changes what is signed.
	b = bytes.Replace(signed, []byte(PayloadType), []byte("application/vnd.other+json"), 1)
	if _, err := Verify(b, pub); !errors.Is(err, ErrMalformed) {
		t.Errorf("payload type: %v", err)
	}
	// A signed but malformed document is refused as malformed.
	bad := &Envelope{PayloadType: PayloadType, Payload: []byte(`{"version": 3}`)}
	bad.Signatures = []Signature{{Sig: ed25519.Sign(key, PAE(PayloadType, bad.Payload))}}
	b, _ = bad.Marshal()
	if _, err := Verify(b, pub); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "unknown version 3") {
		t.Errorf("signed version 3: %v", err)
	}
	if _, err := Sign([]byte(`{"version": 3}`), key); !errors.Is(err, ErrMalformed) {
		t.Errorf("Sign of a malformed document: %v", err)
	}
}

func TestParseEnvelopeMalformed(t *testing.T) {
	sig := base64.StdEncoding.EncodeToString(make([]byte, 64))
	pl := base64.StdEncoding.EncodeToString([]byte("{}"))
	env := func(typ, payload, sigs string) string {
		return `{"payloadType":"` + typ + `","payload":"` + payload + `","signatures":[` + sigs + `]}`
	}
	good := `{"keyid":"k","sig":"` + sig + `"}`
	if _, err := ParseEnvelope([]byte(env(PayloadType, pl, good))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, env, msg string }{
		{"no signatures", env(PayloadType, pl, ""), "0 signatures"},
		{"short signature", env(PayloadType, pl, `{"sig":"AAAA"}`), "want 64 bytes"},
		{"url base64", env(PayloadType, strings.TrimRight(base64.URLEncoding.EncodeToString([]byte("{}?>")), "="), good), "standard base64"},
		{"empty payload", env(PayloadType, "", good), "non-empty"},
		{"other type", env("text/plain", pl, good), "payloadType"},
		{"unknown field", strings.Replace(env(PayloadType, pl, good), `"payload"`, `"x":1,"payload"`, 1), "unknown field"},
		{"duplicate payload", strings.Replace(env(PayloadType, pl, good), `"payload"`, `"payload":"e30=","payload"`, 1), "duplicate key"},
		{"not json", "DSSE", "invalid character"},
	} {
		if _, err := ParseEnvelope([]byte(tc.env)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.msg)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub")
	p, err := GenerateKeyFiles(nil, key, pub, false)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(key)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %o", st.Mode().Perm())
	}
	kb, _ := os.ReadFile(key)
	pb, _ := os.ReadFile(pub)
	if !bytes.HasPrefix(kb, []byte("-----BEGIN PRIVATE KEY-----\n")) || !bytes.HasPrefix(pb, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Fatalf("PEM types:\n%s\n%s", kb, pb)
	}
	k, err := ParsePrivateKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := ParsePublicKey(pb)
	if err != nil || !p2.Equal(p) || !k.Public().(ed25519.PublicKey).Equal(p) {
		t.Fatalf("key pair does not match: %v", err)
	}
	if _, err := GenerateKeyFiles(nil, key, pub, false); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite: %v", err)
	}
	if _, err := GenerateKeyFiles(nil, key, pub, true); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if _, err := ParsePublicKey(kb); !errors.Is(err, ErrMalformed) {
		t.Fatalf("private key as public: %v", err)
	}
	if _, err := ParsePrivateKey(append(kb, "junk"...)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing junk: %v", err)
	}
}

// TestOpenSSLInterop: a key from `openssl genpkey` signs, and openssl
// verifies the signature over the PAE bytes written out here.
func TestOpenSSLInterop(t *testing.T) {
	ossl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	keyFile, pubFile := filepath.Join(dir, "k.pem"), filepath.Join(dir, "p.pem")
	if out, err := exec.Command(ossl, "genpkey", "-algorithm", "ed25519", "-out", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := exec.Command(ossl, "pkey", "-in", keyFile, "-pubout", "-out", pubFile).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	kb, _ := os.ReadFile(keyFile)
	pb, _ := os.ReadFile(pubFile)
	key, err := ParsePrivateKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pb)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign([]byte(validDoc), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(signed, pub); err != nil {
		t.Fatal(err)
	}
	env, _ := ParseEnvelope(signed)
	pae := "DSSEv1 40 " + PayloadType + " " + strconv.Itoa(len(validDoc)) + " " + validDoc
	os.WriteFile(filepath.Join(dir, "pae"), []byte(pae), 0o600)
	os.WriteFile(filepath.Join(dir, "sig"), env.Signatures[0].Sig, 0o600)
	out, err := exec.Command(ossl, "pkeyutl", "-verify", "-pubin", "-inkey", pubFile, "-rawin",
		"-in", filepath.Join(dir, "pae"), "-sigfile", filepath.Join(dir, "sig")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Fatalf("openssl verify: %v: %s", err, out)
	}
}

// TestParseSigned: the payload's policy of a signed file whatever key
// signed it; a file that is not an envelope, or whose payload is not a
// policy, is refused.
func TestParseSigned(t *testing.T) {
	signed, err := Sign([]byte(validDoc), testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseSigned(signed)
	if err != nil || len(p.Entries) != 2 || p.Entries[1].Name != "rescue-2" {
		t.Fatalf("ParseSigned: %+v %v", p, err)
	}
	if _, err := ParseSigned([]byte(validDoc)); !errors.Is(err, ErrMalformed) {
		t.Errorf("a bare document: %v", err)
	}
	bad, _ := Sign([]byte(`{"version": 1, "entries": []}`), testKey(7))
	if _, err := ParseSigned(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("an envelope of a bad policy: %v", err)
	}
}
