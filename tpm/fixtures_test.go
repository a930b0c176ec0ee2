package tpm_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// requireFixtures skips when fixtures fetched by `make deps` are missing,
// unless SLKIT_REQUIRE_RIG=1 (set by `make test`), where it fails.
func requireFixtures(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
		t.Fatalf("%s missing (SLKIT_REQUIRE_RIG=1): run make deps", what)
	}
	t.Skipf("%s missing: run make deps", what)
}

func cacheDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SLKIT_CACHE"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, ".cache")
		}
	}
	t.Fatal("no go.mod above the test directory")
	return ""
}

// realLog is a firmware event log from a real machine or VM.
type realLog struct {
	name string
	raw  []byte
	// quoted holds PCR values a real TPM reported with the log (nil if none).
	quoted *tpm.PCRs
}

// realLogs returns the public logs fetched by make deps plus the OVMF logs
// captured in the rig (tpm/testdata/eventlogs).
func realLogs(t *testing.T) []realLog {
	t.Helper()
	dir := filepath.Join(cacheDir(t), "eventlogs", "public")
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		requireFixtures(t, "public event logs in "+dir)
	}
	var out []realLog
	bins, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	for _, f := range bins {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, realLog{name: filepath.Base(f), raw: b})
	}
	jsons, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range jsons {
		out = append(out, loadAttestationJSON(t, f))
	}
	captured, _ := filepath.Glob("testdata/eventlogs/*.bin")
	for _, f := range captured {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rl := realLog{name: filepath.Base(f), raw: b}
		if pj, err := os.ReadFile(strings.TrimSuffix(f, ".bin") + ".pcrs.json"); err == nil {
			rl.quoted = &tpm.PCRs{}
			if err := json.Unmarshal(pj, rl.quoted); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		out = append(out, rl)
	}
	if len(out) < 5 {
		t.Fatalf("only %d real logs found", len(out))
	}
	return out
}

// loadAttestationJSON reads go-attestation's test format: the raw log and
// the PCR values the machine's TPM quoted.
func loadAttestationJSON(t *testing.T, path string) realLog {
	t.Helper()
	var v struct {
		Log struct {
			Raw  string
			PCRs []struct {
				Index     int
				Digest    string
				DigestAlg int // crypto.Hash: 3 = SHA1, 5 = SHA256
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(v.Log.Raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	q := tpm.NewPCRs()
	for _, p := range v.Log.PCRs {
		d, _ := base64.StdEncoding.DecodeString(p.Digest)
		alg := map[int]tpm.Alg{3: tpm.SHA1, 5: tpm.SHA256}[p.DigestAlg]
		if alg == 0 || p.Index >= tpm.NumPCRs {
			continue
		}
		q.Set(alg, p.Index, d)
	}
	return realLog{name: filepath.Base(path), raw: raw, quoted: q}
}

// tpm2Eventlog runs tpm2-tools' tpm2_eventlog on raw and returns the PCR
// values it computes (its "pcrs:" section).
func tpm2Eventlog(t *testing.T, raw []byte) *tpm.PCRs {
	t.Helper()
	bin, err := exec.LookPath("tpm2_eventlog")
	if err != nil {
		requireFixtures(t, "tpm2_eventlog (tpm2-tools)")
	}
	f := filepath.Join(t.TempDir(), "log.bin")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, f).Output()
	if err != nil {
		t.Fatalf("tpm2_eventlog: %v", err)
	}
	p := tpm.NewPCRs()
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	in, bank := false, tpm.Alg(0)
	for sc.Scan() {
		line := sc.Text()
		if line == "pcrs:" {
			in = true
			continue
		}
		if !in {
			continue
		}
		trim := strings.TrimSpace(line)
		if strings.HasSuffix(trim, ":") && !strings.Contains(trim, " ") {
			bank, err = tpm.ParseAlg(strings.TrimSuffix(trim, ":"))
			if err != nil {
				t.Fatalf("tpm2_eventlog bank %q: %v", trim, err)
			}
			continue
		}
		idx, val, ok := strings.Cut(trim, ":")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(strings.TrimSpace(idx))
		if err != nil {
			t.Fatalf("tpm2_eventlog line %q", line)
		}
		var d tpm.Digest
		if err := d.UnmarshalText([]byte(strings.TrimSpace(val))); err != nil {
			t.Fatalf("tpm2_eventlog line %q: %v", line, err)
		}
		p.Set(bank, i, d)
	}
	return p
}
