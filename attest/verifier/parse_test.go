package verifier_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	slattest "github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/attest/verifier"
)

func sampleRecord() *verifier.Record {
	return &verifier.Record{Format: verifier.RecordFormat, EKCertSHA256: bytes.Repeat([]byte{1}, 32),
		AKName: append([]byte{0, 0xb}, bytes.Repeat([]byte{2}, 32)...), SecretSHA256: bytes.Repeat([]byte{3}, 32)}
}

func TestParseRecordBadInput(t *testing.T) {
	good, _ := sampleRecord().Marshal()
	for name, b := range map[string][]byte{
		"truncated":     good[:len(good)/2],
		"unknown field": bytes.Replace(good, []byte(`"format"`), []byte(`"x": 1, "format"`), 1),
		"short digest":  bytes.Replace(good, []byte(strings.Repeat("01", 32)), []byte("0101"), 1),
		"other format":  bytes.Replace(good, []byte("record-v1"), []byte("record-v9"), 1),
		"two documents": append(append([]byte{}, good...), good...),
		"oversized":     append(good, bytes.Repeat([]byte(" "), 5000)...),
	} {
		if _, err := verifier.ParseRecord(b); !errors.Is(err, verifier.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzParseRecord: ParseRecord never panics; what it accepts re-encodes
// to the same record.
func FuzzParseRecord(f *testing.F) {
	good, _ := sampleRecord().Marshal()
	f.Add(good)
	f.Add(good[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := verifier.ParseRecord(b)
		if err != nil {
			if !errors.Is(err, verifier.ErrMalformed) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		again, _ := r.Marshal()
		if r2, err := verifier.ParseRecord(again); err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("re-encoded record differs: %v", err)
		}
	})
}

// FuzzParseCAs: the CA bundle parser never panics and refuses a bundle
// without a self-signed certificate with ErrMalformed.
func FuzzParseCAs(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("not pem"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := verifier.ParseCAs(b)
		if err != nil {
			if !errors.Is(err, verifier.ErrMalformed) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if len(c.Roots) == 0 {
			t.Fatal("accepted without a root")
		}
	})
}

// TestSaveChallenge: both files parse back; a challenge that cannot be
// written takes the record away with it.
func TestSaveChallenge(t *testing.T) {
	dir := t.TempDir()
	ch := &slattest.Challenge{Format: slattest.ChallengeFormat, AKName: sampleRecord().AKName,
		Credential: append([]byte{0, 4}, 1, 2, 3, 4), Secret: append([]byte{0, 4}, 5, 6, 7, 8)}
	out, rec := filepath.Join(dir, "challenge.json"), filepath.Join(dir, "record.json")
	if err := verifier.SaveChallenge(ch, sampleRecord(), out, rec); err != nil {
		t.Fatal(err)
	}
	cb, _ := os.ReadFile(out)
	rb, _ := os.ReadFile(rec)
	if c, err := slattest.ParseChallenge(cb); err != nil || !reflect.DeepEqual(c, ch) {
		t.Errorf("challenge: %v", err)
	}
	if r, err := verifier.ParseRecord(rb); err != nil || !reflect.DeepEqual(r, sampleRecord()) {
		t.Errorf("record: %v", err)
	}
	if st, _ := os.Stat(rec); st.Mode().Perm() != 0o600 {
		t.Errorf("record mode %v", st.Mode())
	}
	rec2 := filepath.Join(dir, "record2.json")
	if err := verifier.SaveChallenge(ch, sampleRecord(), filepath.Join(dir, "missing", "c.json"), rec2); err == nil {
		t.Fatal("a challenge into a missing directory was saved")
	}
	if _, err := os.Stat(rec2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the record of an unsaved challenge stays: %v", err)
	}
}
