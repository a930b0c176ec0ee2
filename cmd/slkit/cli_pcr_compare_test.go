package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm/tpmtest"
)

// A prediction compared with what the TPM holds after measuring the same
// entry: equal; with another command line's prediction: PCR 8 differs,
// exit 3, and PCR 9 is still reported equal.
func TestPCRCompare(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(kernel, []byte("not really a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	save := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := save("good.json", runSlkit(t, nil, "predict", "--kernel", kernel, "--cmdline", "quiet", "--json").stdout)
	other := save("other.json", runSlkit(t, nil, "predict", "--kernel", kernel, "--cmdline", "verbose", "--json").stdout)
	if r := runSlkit(t, tt, "measure", "--kernel", kernel, "--cmdline", "quiet", "--log", filepath.Join(dir, "log.bin")); r.code != 0 {
		t.Fatalf("measure: %d %s", r.code, r.stderr)
	}
	read := save("read.json", runSlkit(t, tt, "pcr", "read", "--json", "8", "9").stdout)

	if r := runSlkit(t, nil, "pcr", "compare", good, read); r.code != 0 || strings.Contains(r.stdout, "DIFFERS") || !strings.Contains(r.stdout, "sha256    9") {
		t.Errorf("equal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := runSlkit(t, nil, "pcr", "compare", other, read)
	if r.code != 3 || !strings.Contains(r.stderr, "PCR values differ") {
		t.Errorf("different: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		f := strings.Fields(l)
		if want := map[string]string{"8": "DIFFERS", "9": "equal"}[f[1]]; f[len(f)-1] != want {
			t.Errorf("line %q: want %s", l, want)
		}
	}
	if r := runSlkit(t, nil, "pcr", "compare", good, kernel); r.code != 1 || !strings.Contains(r.stderr, kernel) {
		t.Errorf("malformed input: exit %d, stderr %q", r.code, r.stderr)
	}
}
