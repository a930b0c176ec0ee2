package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// cliResult is what one in-process slkit run produced.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runSlkit runs the CLI in-process against the test TPM tt (nil: no TPM).
func runSlkit(t *testing.T, tt *tpmtest.TPM, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, stdoutIsTerminal: func() bool { return false }}
	full := []string{"slkit"}
	if tt != nil {
		e.tpmOptions = tt.Options
		full = append(full, "--tpm", tt.Spec)
	}
	code := run(append(full, args...), e)
	return cliResult{out.String(), errb.String(), code}
}

func TestPCRExtendAndReadJSON(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.WriteFile(data, []byte("measured"), 0o600)
	r := runSlkit(t, tt, "pcr", "extend", "--pcr", "16", "--data", data)
	if r.code != 0 {
		t.Fatalf("extend: %d %s", r.code, r.stderr)
	}
	r = runSlkit(t, tt, "pcr", "read", "--json", "16", "23")
	if r.code != 0 {
		t.Fatalf("read: %d %s", r.code, r.stderr)
	}
	var got struct {
		Banks map[string]map[string]string `json:"banks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	for _, a := range []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512} {
		d, _ := a.Sum([]byte("measured"))
		want, _ := a.Sum(make([]byte, a.Size()), d)
		if got.Banks[a.String()]["16"] != want.String() {
			t.Errorf("%s PCR 16 = %q, want %s", a, got.Banks[a.String()]["16"], want)
		}
		if got.Banks[a.String()]["23"] != strings.Repeat("00", a.Size()) {
			t.Errorf("%s PCR 23 = %q", a, got.Banks[a.String()]["23"])
		}
	}
	// --digest extends only the named bank.
	r = runSlkit(t, tt, "pcr", "extend", "--pcr", "23", "--digest", "sha256:"+strings.Repeat("ab", 32))
	if r.code != 0 {
		t.Fatalf("extend --digest: %d %s", r.code, r.stderr)
	}
	r = runSlkit(t, tt, "pcr", "read", "--bank", "sha256", "--bank", "sha1", "--json", "23")
	got.Banks = nil
	json.Unmarshal([]byte(r.stdout), &got)
	want, _ := tpm.SHA256.Sum(make([]byte, 32), bytes.Repeat([]byte{0xab}, 32))
	if got.Banks["sha256"]["23"] != want.String() || got.Banks["sha1"]["23"] != strings.Repeat("00", 20) {
		t.Fatalf("after --digest: %v", got.Banks)
	}
	if len(got.Banks) != 2 {
		t.Fatalf("--bank sha256 --bank sha1 gave %d banks", len(got.Banks))
	}
}

func TestEventlogBadInputExitCodes(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.bin")
	os.WriteFile(empty, nil, 0o600)
	l, _ := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	l.AppendData(9, tpm.EvIPL, []byte("k"), []byte("kernel"))
	good, _ := l.MarshalBinary()
	trunc := filepath.Join(dir, "trunc.bin")
	os.WriteFile(trunc, good[:len(good)-3], 0o600)
	wrong := filepath.Join(dir, "wrong.bin")
	bad := append([]byte(nil), good...)
	copy(bad[32:], "Spec ID Event77")
	os.WriteFile(wrong, bad, 0o600)
	for _, tc := range []struct {
		name, file, want string
	}{
		{"missing", filepath.Join(dir, "nope.bin"), "nope.bin: no such file or directory"},
		{"empty", empty, "empty.bin: empty file"},
		{"truncated", trunc, "trunc.bin: event 1 at byte offset"},
		{"wrong header", wrong, `wrong.bin: event 0 at byte offset 32: wrong header: unsupported Spec ID signature "Spec ID Event77"`},
	} {
		for _, cmd := range [][]string{{"eventlog", "show"}, {"eventlog", "replay"}, {"eventlog", "export", "--format", "cel-json"}} {
			r := runSlkit(t, nil, append(cmd, tc.file)...)
			if r.code != 1 {
				t.Errorf("%s %v: exit %d, want 1 (%s)", tc.name, cmd, r.code, r.stderr)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%s %v: stderr %q, want one line containing %q", tc.name, cmd, r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("%s %v: printed %q", tc.name, cmd, r.stdout)
			}
		}
	}
}

func TestEventlogReplayAgainstTPM(t *testing.T) {
	tt := tpmtest.Open(t)
	banks, _ := tpm.ActiveBanks(tt)
	l, _ := tpm.NewEventLog(banks)
	ev, _ := l.AppendData(9, tpm.EvIPL, []byte("kernel"), []byte("kernel"))
	if err := tpm.Extend(tt, 9, ev.Digests); err != nil {
		t.Fatal(err)
	}
	b, _ := l.MarshalBinary()
	f := filepath.Join(t.TempDir(), "log.bin")
	os.WriteFile(f, b, 0o600)
	r := runSlkit(t, tt, "eventlog", "replay", "--against-tpm", f)
	if r.code != 0 || !strings.Contains(r.stdout, "matches the TPM") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	// Replay JSON has the shape of pcr read --json.
	r = runSlkit(t, nil, "eventlog", "replay", "--json", f)
	var p tpm.PCRs
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
		t.Fatalf("replay --json: %v %s", err, r.stdout)
	}
	want, _ := tpm.SHA256.Sum(make([]byte, 32), ev.Digests[tpm.SHA256])
	if got, _ := p.Get(tpm.SHA256, 9); !got.Equal(want) {
		t.Fatalf("replayed PCR 9 = %s", got)
	}
	tpm.Extend(tt, 9, ev.Digests)
	r = runSlkit(t, tt, "eventlog", "replay", "--against-tpm", f)
	if r.code != 3 || !strings.Contains(r.stderr, "PCR 9") {
		t.Fatalf("after extra extend: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"pcr", "read", "24"},
		{"pcr", "extend", "--pcr", "16"},
		{"pcr", "extend", "--data", "x"},
		{"seal", "--pcrs", "7"},
		{"pcr", "extend", "--pcr", "16", "--digest", "sha256:00"},
		{"pcr", "read", "--bank", "md5"},
		{"eventlog", "show"},
		{"eventlog", "export", "--format", "yaml", "x"},
		{"--tpm", "bogus:thing", "pcr", "read"},
		{"pcr", "read", "--nonsense"},
	} {
		r := runSlkit(t, nil, args...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q (want exit 1, one line)", args, r.code, r.stderr)
		}
	}
}

func TestTPMOpenFailureExit2(t *testing.T) {
	r := runSlkit(t, nil, "--tpm", "swtpm:unix:/nonexistent/sock", "pcr", "read")
	if r.code != 2 || !strings.Contains(r.stderr, "cannot open TPM") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}
