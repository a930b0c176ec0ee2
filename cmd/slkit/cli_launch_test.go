package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// lastLine is the error line run prints after any phase markers.
func lastLine(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return l[len(l)-1]
}

type launchFiles struct {
	dir, root, kernel, initrd string
	kb, ib                    []byte
}

func writeLaunchFiles(t *testing.T) *launchFiles {
	t.Helper()
	f := &launchFiles{dir: t.TempDir()}
	f.root = filepath.Join(f.dir, "root")
	os.MkdirAll(filepath.Join(f.root, "boot"), 0o755)
	f.kb = []byte("kernel image bytes")
	f.ib = []byte(strings.Repeat("initrd ", 300))
	f.kernel = filepath.Join(f.root, "boot", "vmlinuz")
	f.initrd = filepath.Join(f.root, "boot", "initrd.img")
	os.WriteFile(f.kernel, f.kb, 0o644)
	os.WriteFile(f.initrd, f.ib, 0o644)
	return f
}

func (f *launchFiles) policyDoc(kernelSHA string) string {
	return fmt.Sprintf(`{"version": 1, "entries": [{"name": "default",
  "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},
  "initrd": {"path": "/boot/initrd.img", "sha256": "%s"},
  "cmdline": "console=ttyS0 quiet", "profile": "measured-v1"}]}`, kernelSHA, sha256Hex(f.ib))
}

// policyKey creates a policy key pair in the fixture's directory and
// returns the private key's path (the public key is PATH.pub).
func (f *launchFiles) policyKey(t *testing.T) string {
	t.Helper()
	key := filepath.Join(f.dir, "key.pem")
	if r := runSlkit(t, nil, "policy", "keygen", "--out", key); r.code != 0 {
		t.Fatalf("policy keygen: %s", r.stderr)
	}
	return key
}

// sign writes doc as name.in and signs it with key into name.
func (f *launchFiles) sign(t *testing.T, key, name, doc string) string {
	t.Helper()
	in := f.write(t, name+".in", doc)
	out := filepath.Join(f.dir, name)
	if r := runSlkit(t, nil, "policy", "sign", "--key", key, "--in", in, "--out", out); r.code != 0 {
		t.Fatalf("sign: %s", r.stderr)
	}
	return out
}

func (f *launchFiles) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyCLI(t *testing.T) {
	f := writeLaunchFiles(t)
	key, pub := filepath.Join(f.dir, "key.pem"), filepath.Join(f.dir, "key.pem.pub")
	r := runSlkit(t, nil, "policy", "keygen", "--out", key)
	if r.code != 0 {
		t.Fatalf("keygen: %d %s", r.code, r.stderr)
	}
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}
	if r := runSlkit(t, nil, "policy", "keygen", "--out", key); r.code != 1 || !strings.Contains(r.stderr, "file exists") {
		t.Fatalf("keygen over an existing key: %d %q", r.code, r.stderr)
	}
	in := f.write(t, "policy.json", f.policyDoc(sha256Hex(f.kb)))
	signed := filepath.Join(f.dir, "signed.json")
	if r := runSlkit(t, nil, "policy", "sign", "--key", key, "--in", in, "--out", signed); r.code != 0 {
		t.Fatalf("sign: %d %s", r.code, r.stderr)
	}
	r = runSlkit(t, nil, "policy", "verify", "--pub", pub, signed)
	if r.code != 0 || !strings.Contains(r.stdout, "signature OK") || !strings.Contains(r.stdout, "default: kernel /boot/vmlinuz") {
		t.Fatalf("verify: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runSlkit(t, nil, "policy", "verify", "--json", "--pub", pub, signed)
	var got struct {
		Verified bool
		Policy   struct{ Entries []struct{ Cmdline string } }
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || !got.Verified || got.Policy.Entries[0].Cmdline != "console=ttyS0 quiet" {
		t.Fatalf("verify --json: %v %s", err, r.stdout)
	}

	// Failures: one line, exit 3 for verification, 1 for malformed input.
	key2 := filepath.Join(f.dir, "other.pem")
	runSlkit(t, nil, "policy", "keygen", "--out", key2)
	sb, _ := os.ReadFile(signed)
	tampered := f.write(t, "tampered.json", strings.Replace(string(sb), `"payload": "ey`, `"payload": "eX`, 1))
	malformed := f.write(t, "bad.json", strings.Replace(f.policyDoc(sha256Hex(f.kb)), `"version": 1`, `"version": 7`, 1))
	dup := f.write(t, "dup.json", strings.Replace(f.policyDoc(sha256Hex(f.kb)), `}]}`, `}, {"name": "default", "kernel": {"path": "/k", "sha256": "`+sha256Hex(nil)+`"}, "cmdline": "", "profile": "measured-v1"}]}`, 1))
	badhash := f.write(t, "badhash.json", f.policyDoc("XYZ"))
	badprof := f.write(t, "badprof.json", strings.Replace(f.policyDoc(sha256Hex(f.kb)), "measured-v1", "drtm-v7", 1))
	out := filepath.Join(f.dir, "never.json")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"policy", "verify", "--pub", key2 + ".pub", signed}, 3, "signature verification failed: no signature of the policy verifies under key"},
		{[]string{"policy", "verify", "--pub", pub, tampered}, 3, "tampered.json: signature verification failed"},
		{[]string{"policy", "verify", "--pub", pub, in}, 1, "policy.json: malformed envelope"},
		{[]string{"policy", "verify", "--pub", key, signed}, 1, `key.pem: malformed key: PEM block "PRIVATE KEY", want "PUBLIC KEY"`},
		{[]string{"policy", "verify", "--pub", pub, filepath.Join(f.dir, "nope")}, 1, "nope: no such file or directory"},
		{[]string{"policy", "sign", "--key", key, "--in", malformed, "--out", out}, 1, "bad.json: malformed policy: unknown version 7"},
		{[]string{"policy", "sign", "--key", key, "--in", dup, "--out", out}, 1, `duplicate entry name "default"`},
		{[]string{"policy", "sign", "--key", key, "--in", badhash, "--out", out}, 1, `kernel sha256 "XYZ": want 64 lowercase hex digits`},
		{[]string{"policy", "sign", "--key", key, "--in", badprof, "--out", out}, 1, `unknown profile "drtm-v7"`},
		{[]string{"policy", "sign", "--key", pub, "--in", in, "--out", out}, 1, "malformed key"},
		{[]string{"policy", "verify", signed}, 1, "pub"},
	} {
		r := runSlkit(t, nil, tc.args...)
		if r.code != tc.code || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, one line with %q", tc.args, r.code, r.stderr, tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused sign wrote its output")
	}
}

func TestPredictCLI(t *testing.T) {
	f := writeLaunchFiles(t)
	cmdline := `root="/dev/vda 1" msg='grüße' ☃`
	r := runSlkit(t, nil, "predict", "--json", "--bank", "sha256", "--kernel", f.kernel, "--initrd", f.initrd, "--cmdline", cmdline)
	if r.code != 0 {
		t.Fatalf("predict: %d %s", r.code, r.stderr)
	}
	var x tpm.Expected
	if err := json.Unmarshal([]byte(r.stdout), &x); err != nil {
		t.Fatal(err)
	}
	ext := func(old []byte, data []byte) []byte {
		d := sha256.Sum256(data)
		s := sha256.Sum256(append(append([]byte(nil), old...), d[:]...))
		return s[:]
	}
	zero := make([]byte, 32)
	want9 := ext(ext(zero, f.kb), f.ib)
	want8 := ext(zero, []byte(cmdline))
	g8, _ := x.Get(tpm.SHA256, 8)
	g9, _ := x.Get(tpm.SHA256, 9)
	if !g8.Equal(want8) || !g9.Equal(want9) || len(x.Banks) != 1 || len(x.Events) != 3 {
		t.Fatalf("predict --json: %s", r.stdout)
	}
	if !strings.Contains(r.stdout, `"description": "initrd"`) {
		t.Fatalf("events carry no descriptions: %s", r.stdout)
	}
	// --start: the banks and starting values of `pcr read --json`.
	start := f.write(t, "start.json", `{"banks":{"sha384":{"8":"`+strings.Repeat("11", 48)+`","9":"`+strings.Repeat("22", 48)+`"}}}`)
	r = runSlkit(t, nil, "predict", "--json", "--start", start, "--kernel", f.kernel, "--cmdline", "")
	x = tpm.Expected{}
	if err := json.Unmarshal([]byte(r.stdout), &x); err != nil || r.code != 0 || len(x.Banks) != 1 || x.Banks[tpm.SHA384] == nil {
		t.Fatalf("predict --start: %d %v %s %s", r.code, err, r.stdout, r.stderr)
	}
	// Text output.
	r = runSlkit(t, nil, "predict", "--kernel", f.kernel, "--cmdline", "x")
	if r.code != 0 || !strings.Contains(r.stdout, "banks sha1,sha256,sha384,sha512, 2 events") || !strings.Contains(r.stdout, "cmdline") {
		t.Fatalf("predict text: %d %s", r.code, r.stdout)
	}
	partial := f.write(t, "partial.json", `{"banks":{"sha256":{"8":"`+strings.Repeat("11", 32)+`"}}}`)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"predict", "--cmdline", "x"}, "kernel"},
		{[]string{"predict", "--kernel", f.kernel}, "cmdline"},
		{[]string{"predict", "--kernel", filepath.Join(f.dir, "nope"), "--cmdline", ""}, "nope: no such file or directory"},
		{[]string{"predict", "--kernel", f.kernel, "--cmdline", "bad\xff"}, "command line is not valid UTF-8"},
		{[]string{"predict", "--kernel", f.kernel, "--cmdline", "", "--bank", "md5"}, "md5"},
		{[]string{"predict", "--kernel", f.kernel, "--cmdline", "", "--start", partial}, "partial.json: bad starting PCR values: no sha256 value for PCR 9"},
		{[]string{"predict", "--kernel", f.kernel, "--cmdline", "", "--profile", "nope"}, `unknown profile "nope"`},
		{[]string{"predict", "--kernel", f.write(t, "empty", ""), "--cmdline", ""}, "empty image"},
	} {
		r := runSlkit(t, nil, tc.args...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 1 with %q", tc.args, r.code, r.stderr, r.stdout, tc.msg)
		}
	}
}

// TestMeasureCLI: predict --json equals pcr read after measure, and the log
// measure writes replays against the TPM.
func TestMeasureCLI(t *testing.T) {
	tt := tpmtest.Open(t)
	f := writeLaunchFiles(t)
	log := filepath.Join(f.dir, "run", "prelaunch.bin")
	entry := []string{"--kernel", f.kernel, "--initrd", f.initrd, "--cmdline", `a "b c"`}
	pr := runSlkit(t, nil, append([]string{"predict", "--json"}, entry...)...)
	r := runSlkit(t, tt, append([]string{"measure", "--log", log}, entry...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "extended 3 events") {
		t.Fatalf("measure: %d %s %s", r.code, r.stdout, r.stderr)
	}
	rd := runSlkit(t, tt, "pcr", "read", "--json", "8", "9")
	var want tpm.Expected
	var got tpm.PCRs
	json.Unmarshal([]byte(pr.stdout), &want)
	json.Unmarshal([]byte(rd.stdout), &got)
	for _, a := range want.Algs() {
		for _, i := range []int{8, 9} {
			w, _ := want.Get(a, i)
			g, _ := got.Get(a, i)
			if !w.Equal(g) {
				t.Errorf("%s PCR %d: predicted %s, read %s", a, i, w, g)
			}
		}
	}
	if r := runSlkit(t, tt, "eventlog", "replay", "--against-tpm", log); r.code != 0 {
		t.Fatalf("replay: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// A second measure appends; the log still replays.
	runSlkit(t, tt, append([]string{"measure", "--log", log}, entry...)...)
	if r := runSlkit(t, tt, "eventlog", "replay", "--against-tpm", log); r.code != 0 {
		t.Fatalf("replay after a second measure: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

var phaseRE = regexp.MustCompile(`(?m)^slkit: phase=([a-z-]+) t=[0-9]+\.[0-9]{3}s$`)

func TestLaunchCLIDryRun(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tt := tpmtest.Open(t)
	f := writeLaunchFiles(t)
	key := f.policyKey(t)
	sign := func(name, doc string) string { return f.sign(t, key, name, doc) }
	good := sign("good.json", f.policyDoc(sha256Hex(f.kb)))
	log := filepath.Join(f.dir, "log.bin")
	r := runSlkit(t, tt, "launch", "--policy", good, "--policy-key", key+".pub", "--root", f.root, "--log", log, "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, `dry run: entry "default" measured (4 events`) {
		t.Fatalf("launch --dry-run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	var phases []string
	for _, m := range phaseRE.FindAllStringSubmatch(r.stderr, -1) {
		phases = append(phases, m[1])
	}
	if fmt.Sprint(phases) != "[verify-policy measure kexec]" || strings.Count(r.stderr, "\n") != 4 ||
		!strings.HasSuffix(r.stderr, "\nslkit: kexec: loaded with none (dry run)\n") {
		t.Fatalf("phase markers %v in %q", phases, r.stderr)
	}
	if r := runSlkit(t, tt, "eventlog", "replay", "--against-tpm", log); r.code != 0 {
		t.Fatalf("replay: %d %s", r.code, r.stderr)
	}

	// A kernel that differs from the policy never boots: exit 3, names it.
	tt.Reboot()
	bad := sign("bad.json", f.policyDoc(sha256Hex([]byte("another kernel"))))
	r = runSlkit(t, tt, "launch", "--policy", bad, "--policy-key", key+".pub", "--root", f.root, "--log", filepath.Join(f.dir, "l2"), "--dry-run")
	if r.code != 3 || !strings.Contains(lastLine(r.stderr), "image does not match the launch policy: kernel /boot/vmlinuz: sha256 ") || strings.Contains(r.stdout, "dry run") {
		t.Fatalf("mismatch: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// A policy signed by another key: exit 3 before measuring anything.
	other := filepath.Join(f.dir, "other.pem")
	runSlkit(t, nil, "policy", "keygen", "--out", other)
	r = runSlkit(t, tt, "launch", "--policy", good, "--policy-key", other+".pub", "--root", f.root, "--dry-run")
	if r.code != 3 || !strings.Contains(lastLine(r.stderr), "good.json: signature verification failed") || strings.Contains(r.stderr, "phase=measure") {
		t.Fatalf("wrong key: %d %q", r.code, r.stderr)
	}
	// Usage errors; a hand-over destination outside /slkit/ is one, before
	// any TPM command.
	for _, args := range [][]string{
		{"launch", "--policy", good},
		{"launch", "--policy", good, "--policy-key", key + ".pub", "--entry", "nope", "--root", f.root, "--dry-run"},
		{"launch", "--policy", good, "--policy-key", key + ".pub", "--root", f.root, "--dry-run", "--handover", good + ":/init"},
		{"launch", "--policy", good, "--policy-key", key + ".pub", "--root", f.root, "--dry-run", "--handover", good + ":/slkit/../init"},
	} {
		if r := runSlkit(t, tt, args...); r.code != 1 {
			t.Errorf("%v: exit %d %q", args, r.code, r.stderr)
		}
	}
}
