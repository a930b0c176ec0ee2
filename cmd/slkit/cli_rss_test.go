package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// rssArgsEnv carries the arguments of one slkit run to the helper process.
const rssArgsEnv = "SLKIT_RSS_ARGS"

// TestRSSHelper is not a test: TestPeakRSS runs the test binary again with
// it selected, as an slkit process whose peak RSS it measures.
func TestRSSHelper(t *testing.T) {
	a := os.Getenv(rssArgsEnv)
	if a == "" {
		t.Skip("helper process for TestPeakRSS")
	}
	var args []string
	if err := json.Unmarshal([]byte(a), &args); err != nil {
		t.Fatal(err)
	}
	code := run(append([]string{"slkit"}, args...), &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: os.Stderr, stdoutIsTerminal: func() bool { return false }})
	// The high-water mark of this process's memory since its execve
	// (getrusage's ru_maxrss would include the parent's at the fork).
	st, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			fmt.Fprintf(os.Stderr, "\nVmHWM %s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	os.Exit(code)
}

// peakRSS runs slkit with args in a process of its own and returns its
// exit code, its peak resident set size in bytes (VmHWM) and its stderr.
func peakRSS(t *testing.T, args ...string) (int, int64, string) {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRSSHelper$")
	cmd.Env = append(os.Environ(), rssArgsEnv+"="+string(a))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run()
	msg, hwm, ok := strings.Cut(stderr.String(), "\nVmHWM ")
	kb, err := strconv.ParseInt(strings.TrimSpace(hwm), 10, 64)
	if !ok || err != nil {
		t.Fatalf("slkit %v: no VmHWM in %q", args, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), kb << 10, msg
}

// TestPeakRSS reports the peak RSS of slkit reading the largest input of
// each big kind that its limit allows (event log, signed policy, sealed
// file, PCR values; streamed images are not read whole), next to an slkit
// run that reads almost nothing. The bound checked is generous (the input
// a few times over, plus the baseline): its purpose is to catch a reader
// that keeps many copies or amplifies a small file.
func TestPeakRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds inputs of up to 64 MiB")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The largest event log: legacy SHA-1 records whose data fill 64 MiB.
	var big []byte
	for rest := tpm.MaxEventLogSize; rest > 0; {
		n := min(rest-32, 16<<20)
		big = binary.LittleEndian.AppendUint32(big, 8)
		big = binary.LittleEndian.AppendUint32(big, 0xD)
		big = append(big, make([]byte, 20)...)
		big = binary.LittleEndian.AppendUint32(big, uint32(n))
		big = append(big, bytes.Repeat([]byte{'x'}, n)...)
		rest -= 32 + n
	}
	bigLog := write("big.log", big)
	// The most events a log may hold, each as small as a record gets.
	var many []byte
	for i := 0; i < tpm.MaxLogEvents; i++ {
		many = binary.LittleEndian.AppendUint32(many, 8)
		many = binary.LittleEndian.AppendUint32(many, 0xD)
		many = append(many, make([]byte, 24)...)
	}
	manyLog := write("many.log", many)
	// The largest policy document, signed.
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	var entries []string
	for i := 0; i < policy.MaxEntries; i++ {
		entries = append(entries, fmt.Sprintf(`{"name":"e%d","kernel":{"path":"/k","sha256":"%s"},"cmdline":"%s","profile":"measured-v1"}`,
			i, strings.Repeat("a", 64), strings.Repeat("c", policy.MaxPolicySize/policy.MaxEntries-160)))
	}
	doc := []byte(`{"version":1,"entries":[` + strings.Join(entries, ",") + `]}`)
	if len(doc) > policy.MaxPolicySize {
		t.Fatalf("policy document of %d bytes", len(doc))
	}
	signed, err := policy.Sign(doc, key)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := policy.MarshalPublicKey(key.Public().(ed25519.PublicKey))
	signedFile, pubFile := write("signed.json", signed), write("key.pub", pb)
	// The largest sealed file: expected events whose data fill it.
	tt := tpmtest.Open(t)
	l, _ := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	// (printable data is in the file twice, as hex and as its description)
	d := bytes.Repeat([]byte{'d'}, (tpm.MaxSealedSize-64<<10)/3)
	l.AppendData(7, tpm.EvIPL, d, d)
	vals, _ := l.Replay()
	pol, _ := tpm.PolicyFor(tpm.SHA256, []int{7}, vals)
	s, err := tpm.Seal(tt, []byte("k"), pol, tpm.WithExpectedEvents(l.Events))
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := s.Marshal()
	sealedFile := write("big.sealed", sb)
	// The largest PCR values file (white space pads a prediction).
	pj, _ := json.Marshal(tpm.Expected{PCRs: *vals})
	values := write("values.json", append(pj, bytes.Repeat([]byte(" "), int(tpm.MaxExpectedSize)-len(pj))...))
	small := write("small.json", pj)

	baseCode, base, _ := peakRSS(t, "pcr", "compare", small, small)
	if baseCode != 0 {
		t.Fatalf("pcr compare: exit %d", baseCode)
	}
	for _, tc := range []struct {
		what string
		size int
		args []string
	}{
		{"event log, 64 MiB", len(big), []string{"eventlog", "replay", bigLog}},
		{"event log, 65536 events", len(many), []string{"eventlog", "replay", manyLog}},
		{"signed policy", len(signed), []string{"policy", "verify", signedFile, "--pub", pubFile}},
		{"sealed file", len(sb), []string{"--tpm", "device:/nonexistent", "unseal", sealedFile, "--out", filepath.Join(dir, "o")}},
		{"PCR values", 2 * int(tpm.MaxExpectedSize), []string{"pcr", "compare", values, values}},
	} {
		code, rss, stderr := peakRSS(t, tc.args...)
		t.Logf("%-24s %9d bytes: peak RSS %4d MiB (exit %d)", tc.what, tc.size, rss>>20, code)
		if code != 0 && !strings.Contains(stderr, "cannot open TPM") {
			t.Errorf("%s: exit %d %s", tc.what, code, stderr)
		}
		if limit := 4*int64(tc.size) + base + 64<<20; rss > limit {
			t.Errorf("%s: peak RSS %d MiB, more than 4× the input plus the baseline", tc.what, rss>>20)
		}
	}
	t.Logf("baseline (pcr compare of two small files): %d MiB", base>>20)
}
