package rigtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// FileSHA256 is the lowercase hex SHA-256 of a file (what a launch policy
// entry pins).
func FileSHA256(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// WriteFile writes s to Path(name) (mode 0600) and returns the path.
func (e *Env) WriteFile(name, s string) string {
	e.T.Helper()
	p := e.Path(name)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		e.T.Fatal(err)
	}
	return p
}

var fingerprintLine = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// IsFingerprint reports whether a console line is what `slkit unseal
// --fingerprint` prints (sha256:<64 hex>, surrounding space ignored).
func IsFingerprint(line string) bool { return fingerprintLine.MatchString(strings.TrimSpace(line)) }

// Fingerprints are the console lines `slkit unseal --fingerprint` printed
// (sha256:<64 hex>), in order.
func (b *Boot) Fingerprints() []string {
	var out []string
	for _, l := range b.Console {
		if l = strings.TrimSpace(l); IsFingerprint(l) {
			out = append(out, l)
		}
	}
	return out
}

// Output is what the guest step `slkit CMD…` printed: the console lines
// after its `slkit: running slkit CMD` line, up to the next step's.
func (b *Boot) Output(cmd string) string {
	return strings.Join(b.Between("slkit: running slkit "+cmd, "slkit: running"), "\n")
}

// CheckPCRs fails the test unless the JSON the guest's `pcr read --json`
// step printed (Output("pcr read")) holds, in every bank it read (at
// least wantBanks of them), each of pcrs with the value in predicted (the
// JSON `slkit predict --json` printed on the host).
func (b *Boot) CheckPCRs(t testing.TB, predicted string, wantBanks int, pcrs ...int) {
	t.Helper()
	var read, pred tpm.Expected
	if err := json.Unmarshal([]byte(b.Output("pcr read")), &read); err != nil {
		t.Fatalf("the guest's pcr read output: %v\n%s", err, b.Output("pcr read"))
	}
	if err := json.Unmarshal([]byte(predicted), &pred); err != nil {
		t.Fatalf("prediction: %v", err)
	}
	if n := len(read.Banks); n < wantBanks {
		t.Errorf("the guest read %d banks, want %d", n, wantBanks)
	}
	for _, a := range read.Algs() {
		for _, i := range pcrs {
			got, _ := read.Get(a, i)
			want, ok := pred.Get(a, i)
			if !ok || got == nil || !got.Equal(want) {
				t.Errorf("%s PCR %s: the guest read %v, the host predicted %v", a, strconv.Itoa(i), got, want)
			}
		}
	}
}

// MustRead reads a file or fails the test.
func MustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// MustWrite writes b to p (mode 0600) or fails the test.
func MustWrite(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
