package attest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// sample is a structurally valid bundle (its TPM structures are filler:
// the parser checks sizes, the verifier the contents).
func sample() *attest.Evidence {
	pcrs := tpm.NewPCRs()
	for i := 0; i < 24; i++ {
		pcrs.Set(tpm.SHA256, i, bytes.Repeat([]byte{byte(i)}, 32))
	}
	return &attest.Evidence{
		Format: attest.EvidenceFormat, Nonce: bytes.Repeat([]byte{1}, 32),
		EK:         attest.EK{NVIndex: attest.NVRSAEKCert, Certificate: []byte("DER"), Public: []byte("TPMT_PUBLIC")},
		AK:         attest.AK{Public: []byte("pub"), CreationData: []byte("cd"), CreationAttestation: []byte("ca"), CreationSignature: []byte("cs")},
		Activation: bytes.Repeat([]byte{2}, 32),
		Quotes:     []attest.Quote{{Bank: tpm.SHA256, Message: []byte("msg"), Signature: []byte("sig")}},
		PCRs:       pcrs,
		Logs:       attest.Logs{PreLaunch: []byte("log")},
	}
}

func TestEvidenceRoundTrip(t *testing.T) {
	e := sample()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := attest.ParseEvidence(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", got, e)
	}
	// The documented shape: hex nonce, base64 structures, no absent log.
	var raw map[string]any
	json.Unmarshal(b, &raw)
	if raw["nonce"] != strings.Repeat("01", 32) || raw["format"] != "slkit-attest-evidence-v1" {
		t.Errorf("nonce %v, format %v", raw["nonce"], raw["format"])
	}
	if logs := raw["logs"].(map[string]any); len(logs) != 1 || logs["prelaunch"] != "bG9n" {
		t.Errorf("logs %v", logs)
	}
}

// TestEvidenceBadInput: every malformed bundle is one error wrapping
// ErrMalformed (or ErrNonce) that names what is wrong.
func TestEvidenceBadInput(t *testing.T) {
	good, _ := sample().Marshal()
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "truncated JSON"},
		{"truncated", good[:len(good)/2], "truncated JSON"},
		{"garbled", append([]byte("{\"format\": \x01"), good...), "not JSON"},
		{"trailing data", append(append([]byte{}, good...), good...), "data after the JSON document"},
		{"unknown field", edit(func(m map[string]any) { m["extra"] = 1 }), `unknown field "extra"`},
		{"other format", edit(func(m map[string]any) { m["format"] = "slkit-attest-evidence-v2" }), `format "slkit-attest-evidence-v2"`},
		{"short nonce", edit(func(m map[string]any) { m["nonce"] = "0102" }), "2 bytes, want 8 to 64"},
		{"no quotes", edit(func(m map[string]any) { m["quotes"] = []any{} }), "0 quotes"},
		{"no AK", edit(func(m map[string]any) { delete(m["ak"].(map[string]any), "public") }), "ak.public is missing"},
		{"empty log", edit(func(m map[string]any) { m["logs"] = map[string]any{"drtm": ""} }), "logs.drtm is empty"},
		{"bad bank", edit(func(m map[string]any) { m["quotes"].([]any)[0].(map[string]any)["bank"] = "md5" }), "md5"},
		{"no pcrs", edit(func(m map[string]any) { delete(m, "pcrs") }), "no pcrs"},
		{"oversized", append(good, bytes.Repeat([]byte(" "), attest.MaxEvidenceSize)...), "more than 16777216"},
		{"oversized log", edit(func(m map[string]any) {
			m["logs"] = map[string]any{"firmware": bytes.Repeat([]byte{0}, attest.MaxLogSize+1)}
		}), "logs.firmware is 4194305 bytes"},
	} {
		_, err := attest.ParseEvidence(c.b)
		if !errors.Is(err, attest.ErrMalformed) && !errors.Is(err, attest.ErrNonce) {
			t.Errorf("%s: %v, want ErrMalformed", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %q, want one line with %q", c.name, err, c.want)
		}
	}
}

// TestReadEvidenceLimit: a file larger than MaxEvidenceSize is refused
// from its size, before it is read.
func TestReadEvidenceLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.json")
	f, _ := os.Create(p)
	f.Truncate(attest.MaxEvidenceSize + 1)
	f.Close()
	if _, err := attest.ReadEvidence(p); !errors.Is(err, fsys.ErrTooLarge) || !strings.Contains(err.Error(), "more than 16777216 bytes") {
		t.Fatalf("%v", err)
	}
}

// FuzzParseEvidence: ParseEvidence never panics, and whatever it accepts
// encodes and parses again to the same bundle.
func FuzzParseEvidence(f *testing.F) {
	good, _ := sample().Marshal()
	f.Add(good)
	f.Add(good[:len(good)/3])
	f.Add([]byte(`{"format":"slkit-attest-evidence-v1","nonce":"0101010101010101"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := attest.ParseEvidence(b)
		if err != nil {
			if !errors.Is(err, attest.ErrMalformed) && !errors.Is(err, attest.ErrNonce) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatalf("accepted, but does not encode: %v", err)
		}
		e2, err := attest.ParseEvidence(again)
		if err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("re-encoded bundle differs: %v", err)
		}
	})
}

// FuzzParseChallenge: the same for a challenge file.
func FuzzParseChallenge(f *testing.F) {
	c := &attest.Challenge{Format: attest.ChallengeFormat, AKName: []byte{0, 0xb, 1}, Credential: []byte("cred"), Secret: []byte("secret")}
	good, _ := c.Marshal()
	f.Add(good)
	f.Add(good[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := attest.ParseChallenge(b)
		if err != nil {
			if !errors.Is(err, attest.ErrMalformed) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		again, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if c2, err := attest.ParseChallenge(again); err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-encoded challenge differs: %v", err)
		}
	})
}

// TestEvidenceSummary: what the evidence holds, in one line.
func TestEvidenceSummary(t *testing.T) {
	e := sample()
	want := "evidence in ev.json: nonce " + strings.Repeat("01", 32) + "; EK certificate from NV 0x1c00002; quotes sha256 over PCR 0-23; logs prelaunch; activation secret included\n"
	if got := e.Summary("ev.json", "0-23", []string{"prelaunch"}); got != want {
		t.Errorf("Summary:\n%q\nwant\n%q", got, want)
	}
	e.EK.Certificate, e.Activation = nil, nil
	e.Quotes = append(e.Quotes, attest.Quote{Bank: tpm.SHA1})
	want = "evidence in ev.json: nonce " + strings.Repeat("01", 32) + "; no EK certificate in NV; quotes sha256, sha1 over PCR 8,9; no event log\n"
	if got := e.Summary("ev.json", "8,9", nil); got != want {
		t.Errorf("Summary:\n%q\nwant\n%q", got, want)
	}
}
