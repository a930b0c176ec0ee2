package tpm

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	p := NewPCRs()
	p.Set(SHA256, 9, bytes.Repeat([]byte{0xab}, 32))
	p.Set(SHA1, 8, bytes.Repeat([]byte{0x01}, 20))
	if got, want := p.Text(), "sha1:\n   8: "+strings.Repeat("01", 20)+"\nsha256:\n   9: "+strings.Repeat("ab", 32)+"\n"; got != want {
		t.Errorf("PCRs.Text:\n%s\nwant\n%s", got, want)
	}
	l, err := NewEventLog([]Alg{SHA1, SHA256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendData(9, EvIPL, []byte("kernel bytes"), []byte("kernel")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendData(8, EvIPL, nil, []byte(strings.Repeat("é", 70))); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(l.Text(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "format tcg-crypto-agile, banks sha1,sha256, 2 events" ||
		!strings.HasPrefix(lines[1], "   1  PCR  9  EV_IPL") || !strings.Contains(lines[1], " sha256 ") || !strings.HasSuffix(lines[1], "  kernel") ||
		!strings.HasSuffix(lines[2], strings.Repeat("é", 59)+"…") {
		t.Fatalf("EventLog.Text:\n%s", strings.Join(lines, "\n"))
	}
}

func TestLogVerificationReport(t *testing.T) {
	rep := NewPCRs()
	rep.Set(SHA256, 9, bytes.Repeat([]byte{1}, 32))
	v := &LogVerification{Replayed: rep, TPM: rep, SkippedBanks: []Alg{SHA384}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	json.Unmarshal(b, &got)
	for _, k := range []string{"banks", "replayed", "tpm", "first_differences", "differences", "skipped_banks", "verified"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	if string(got["verified"]) != "true" || string(got["banks"]) != string(got["replayed"])[len(`{"banks":`):len(got["replayed"])-1] {
		t.Errorf("report %s", b)
	}
	if txt := v.Text(); !strings.Contains(txt, "bank sha384 of the log is not active in the TPM") || !strings.HasSuffix(txt, "event log matches the TPM\n") {
		t.Errorf("text:\n%s", txt)
	}
}
