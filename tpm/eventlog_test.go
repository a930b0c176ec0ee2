package tpm_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(strings.Join(strings.Fields(line), ""))
	}
	out, err := hex.DecodeString(b.String())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// goldenLog is a two-bank crypto-agile log written out by hand from PFP
// §10.2.1 (TCG_PCR_EVENT), §10.4.5.1 (TCG_EfiSpecIdEvent) and §10.2.2
// (TCG_PCR_EVENT2): one EV_IPL event on PCR 9 measuring "abc".
const goldenLog = `
00000000                                   // PCRIndex 0
03000000                                   // EventType EV_NO_ACTION
0000000000000000000000000000000000000000   // Digest[20], zero
25000000                                   // EventSize 37
53706563204944204576656e74303300           // "Spec ID Event03\0"
00000000                                   // platformClass 0 (client)
00 02 00 02                                // version minor 0, major 2, errata 0, uintnSize 2
02000000                                   // numberOfAlgorithms 2
0400 1400                                  // TPM_ALG_SHA1, 20 bytes
0b00 2000                                  // TPM_ALG_SHA256, 32 bytes
00                                         // vendorInfoSize 0
09000000                                   // PCRIndex 9
0d000000                                   // EventType EV_IPL
02000000                                   // digest count 2
0400 a9993e364706816aba3e25717850c26c9cd0d89d                               // SHA1("abc")
0b00 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad       // SHA256("abc")
04000000                                   // EventSize 4
6b65726e                                   // "kern"
`

func TestWriteGoldenLog(t *testing.T) {
	l, err := tpm.NewEventLog([]tpm.Alg{tpm.SHA1, tpm.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendData(9, tpm.EvIPL, []byte("abc"), []byte("kern")); err != nil {
		t.Fatal(err)
	}
	got, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, goldenLog); !bytes.Equal(got, want) {
		t.Fatalf("log bytes\n got %x\nwant %x", got, want)
	}
}

func TestParseGoldenLog(t *testing.T) {
	l, err := tpm.ParseEventLog(unhex(t, goldenLog))
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != tpm.FormatCryptoAgile || len(l.Events) != 1 {
		t.Fatalf("format %v, %d events", l.Format, len(l.Events))
	}
	e := l.Events[0]
	if e.Index != 1 || e.Offset != 69 || e.PCR != 9 || e.Type != tpm.EvIPL || e.Description() != "kern" {
		t.Fatalf("event %+v", e)
	}
	p, err := l.Replay()
	if err != nil {
		t.Fatal(err)
	}
	// PCR9 = SHA256(0^32 ‖ SHA256("abc")), computed independently.
	d, _ := p.Get(tpm.SHA256, 9)
	if !d.Equal(independent(t, tpm.SHA256, make([]byte, 32), []byte("abc"))) {
		t.Fatalf("sha256 PCR 9 = %s", d)
	}
}

func TestBadLogs(t *testing.T) {
	good := unhex(t, goldenLog)
	wrongHeader := append([]byte(nil), good...)
	copy(wrongHeader[32+13:], "99") // "Spec ID Event99"
	zeroAlgs := append([]byte(nil), good...)
	zeroAlgs[32+24] = 0 // numberOfAlgorithms = 0
	badSize := append([]byte(nil), good...)
	badSize[32+28+2] = 0x21 // SHA1 digestSize 33
	hugeCount := append([]byte(nil), good...)
	hugeCount[69+8] = 0xff // digest count 255
	for _, tc := range []struct {
		name  string
		b     []byte
		index int
		want  string
	}{
		{"empty", nil, 0, "empty event log"},
		{"truncated header", good[:20], 0, "truncated"},
		{"truncated in digest", good[:69+12+10], 1, "truncated: sha1 digest"},
		{"truncated in data", good[:len(good)-2], 1, "truncated: event data"},
		{"wrong header", wrongHeader, 0, `unsupported Spec ID signature "Spec ID Event99"`},
		{"no algorithms", zeroAlgs, 0, "numberOfAlgorithms 0"},
		{"digest size", badSize, 0, "sha1 digest size 33"},
		{"digest count", hugeCount, 1, "digest count 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tpm.ParseEventLog(tc.b)
			if !errors.Is(err, tpm.ErrMalformedLog) {
				t.Fatalf("err = %v, want ErrMalformedLog", err)
			}
			var le *tpm.LogError
			if !errors.As(err, &le) || le.Index != tc.index {
				t.Fatalf("err = %v, want event index %d", err, tc.index)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "byte offset") {
				t.Fatalf("err = %q, want it to name %q and the byte offset", err, tc.want)
			}
		})
	}
}

// quirkLog builds a log exercising the quirks of real firmware logs (see
// ParseEventLog): StartupLocality, short EV_POST_CODE, EV_EFI_ACTION,
// trailing padding.
func quirkLog(t *testing.T) []byte {
	t.Helper()
	l, err := tpm.NewEventLog([]tpm.Alg{tpm.SHA1, tpm.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	zero := tpm.Digests{tpm.SHA1: make([]byte, 20), tpm.SHA256: make([]byte, 32)}
	// StartupLocality 3: PCR0 starts at 0…03.
	if _, err := l.Append(0, tpm.EvNoAction, zero, append([]byte("StartupLocality\x00"), 3)); err != nil {
		t.Fatal(err)
	}
	// A 9-byte EV_POST_CODE (PFP allows a blob base/length or a string).
	if _, err := l.AppendData(0, tpm.EvPostCode, []byte("code"), []byte("ACPI DATA")); err != nil {
		t.Fatal(err)
	}
	// An EFI_ACTION event for DMA protection.
	if _, err := l.AppendData(7, tpm.EvEFIAction, []byte("DMA Protection Disabled"), []byte("DMA Protection Disabled")); err != nil {
		t.Fatal(err)
	}
	b, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// An event that also carries a SHA-384 digest, a bank not in the header.
	ev := unhex(t, `04000000 05000000 03000000
		0400 `+strings.Repeat("11", 20)+`
		0b00 `+strings.Repeat("22", 32)+`
		0c00 `+strings.Repeat("33", 48)+`
		03000000 616263`)
	b = append(b, ev...)
	// Trailing zero padding, as some firmware leaves.
	return append(b, make([]byte, 64)...)
}

func TestFirmwareQuirks(t *testing.T) {
	raw := quirkLog(t)
	l, err := tpm.ParseEventLog(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Events) != 4 {
		t.Fatalf("%d events, want 4 (padding must not become events)", len(l.Events))
	}
	if d := l.Events[3].Digests[tpm.SHA384]; len(d) != 48 {
		t.Fatalf("SHA-384 digest outside the header not kept: %x", d)
	}
	p, err := l.Replay()
	if err != nil {
		t.Fatal(err)
	}
	start := make([]byte, 32)
	start[31] = 3
	code, _ := tpm.SHA256.Sum([]byte("code"))
	want := independentExtend(tpm.SHA256, start, code)
	if got, _ := p.Get(tpm.SHA256, 0); !got.Equal(want) {
		t.Fatalf("PCR0 with StartupLocality 3 = %s, want %x", got, want)
	}
	if _, ok := p.Get(tpm.SHA384, 4); ok {
		t.Fatal("replay invented a SHA-384 bank the header does not declare")
	}
	if _, ok := p.Get(tpm.SHA256, 4); !ok {
		t.Fatal("PCR 4 not replayed")
	}
	// Re-encoding keeps the out-of-header digest and drops the padding.
	b, _ := l.MarshalBinary()
	if !bytes.Equal(b, raw[:len(raw)-64]) {
		t.Fatal("re-encoded quirk log differs")
	}
}

func independentExtend(a tpm.Alg, old, d []byte) tpm.Digest {
	v, _ := a.Sum(old, d)
	return v
}

func TestLegacySHA1Log(t *testing.T) {
	raw := unhex(t, `
		00000000 08000000 `+strings.Repeat("ab", 20)+` 03000000 763132   // PCR0 EV_S_CRTM_VERSION "v12"
		04000000 04000000 9069ca78e7450a285173431b3e52c5c25299e473 04000000 00000000 // PCR4 EV_SEPARATOR
	`)
	l, err := tpm.ParseEventLog(raw)
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != tpm.FormatSHA1 || len(l.Events) != 2 || l.Events[0].Index != 0 {
		t.Fatalf("format %v, %d events", l.Format, len(l.Events))
	}
	p, err := l.Replay()
	if err != nil {
		t.Fatal(err)
	}
	want := independentExtend(tpm.SHA1, make([]byte, 20), bytes.Repeat([]byte{0xab}, 20))
	if got, _ := p.Get(tpm.SHA1, 0); !got.Equal(want) {
		t.Fatalf("PCR0 = %s", got)
	}
	b, _ := l.MarshalBinary()
	if !bytes.Equal(b, raw) {
		t.Fatal("legacy log does not round-trip")
	}
	if _, err := tpm.ParseEventLog(raw[:len(raw)-1]); !errors.Is(err, tpm.ErrMalformedLog) {
		t.Fatalf("truncated legacy log: %v", err)
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	l, _ := tpm.ParseEventLog(unhex(t, goldenLog))
	b, err := json.Marshal(l.Events[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"type":"EV_IPL"`) || !strings.Contains(string(b), `"description":"kern"`) {
		t.Fatalf("event JSON %s", b)
	}
	var e tpm.Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.PCR != 9 || e.Type != tpm.EvIPL || string(e.Data) != "kern" || !e.Digests[tpm.SHA256].Equal(l.Events[0].Digests[tpm.SHA256]) {
		t.Fatalf("round trip: %+v", e)
	}
}
