package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestCLIOutputSymlinkRefused: slkit never writes through a symbolic link
// and never replaces one. `update prepare --sealed LINK` used to replace
// the link with a regular file holding the update object, leaving the
// real file without it: after the update its secret was lost. Every
// command that writes a file refuses a link, before touching the TPM, and
// leaves the link and its target as they were.
func TestCLIOutputSymlinkRefused(t *testing.T) {
	tt := tpmtest.Open(t)
	u := newUpdateFiles(t)
	stageBoot(t, tt, "BootOrder 0000")
	real := filepath.Join(u.dir, "real.sealed")
	if r := runSlkit(t, tt, "seal", "--pcrs", "1,8", "--in", u.secret, "--out", real); r.code != 0 {
		t.Fatal(r.stderr)
	}
	u.queue(t, "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--boot-order", "0001,0000")
	link := filepath.Join(u.dir, "link.sealed")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	realBefore, _ := os.ReadFile(real)
	other := f(t, u.dir, "other", "x")
	otherLink := filepath.Join(u.dir, "other-link")
	os.Symlink(other, otherLink)
	pkey := filepath.Join(u.dir, "p.key")
	runSlkit(t, nil, "policy", "keygen", "--out", pkey)
	doc := f(t, u.dir, "doc.json", `{"version": 1, "entries": [{"name": "a", "kernel": {"path": "/k", "sha256": "`+strings.Repeat("a", 64)+`"}, "cmdline": "", "profile": "measured-v1"}]}`)
	for _, args := range [][]string{
		{"update", "prepare", "--journal", u.journal, "--sealed", link},
		{"update", "finish", "--sealed", link, "--force"},
		{"seal", "--pcrs", "8", "--in", u.secret, "--out", otherLink},
		{"unseal", real, "--out", otherLink},
		{"policy", "sign", "--key", pkey, "--in", doc, "--out", otherLink},
		{"policy", "keygen", "--out", otherLink, "--force"},
	} {
		var n tpmUse
		r := runCounted(t, tt, nil, &n, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "symbolic link") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("slkit %s: exit %d %q, want exit 1 refusing the symbolic link", strings.Join(args, " "), r.code, r.stderr)
		}
		if args[0] != "unseal" && n.opens.Load() != 0 {
			t.Errorf("slkit %s: the TPM was opened before the output was checked", strings.Join(args, " "))
		}
	}
	for l, target := range map[string]string{link: real, otherLink: other} {
		if got, err := os.Readlink(l); err != nil || got != target {
			t.Errorf("%s is no longer a link to %s (%q %v)", l, target, got, err)
		}
	}
	if b, _ := os.ReadFile(real); !bytes.Equal(b, realBefore) {
		t.Error("the link's target changed")
	}
	if b, _ := os.ReadFile(other); string(b) != "x" {
		t.Errorf("the other link's target changed: %q", b)
	}
	// The real path works.
	if r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--sealed", real); r.code != 0 {
		t.Fatalf("prepare on the real file: %d %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(real); !bytes.Contains(b, []byte(`"update"`)) {
		t.Fatal("no update object in the real file")
	}
}

// f writes content to dir/name and returns the path.
func f(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLIOutDash: --out - writes to standard output; the secret still never
// goes to a terminal.
func TestCLIOutDash(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	secret := f(t, dir, "secret", "dash secret")
	r := runSlkit(t, tt, "seal", "--pcrs", "7", "--in", secret, "--out", "-")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "{") {
		t.Fatalf("seal --out -: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := tpm.ParseSealed([]byte(r.stdout)); err != nil {
		t.Fatalf("seal --out - printed no sealed file: %v", err)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Fatal("seal --out - wrote a file called -")
	}
	sealed := f(t, dir, "s.sealed", r.stdout)
	r = runSlkit(t, tt, "unseal", sealed, "--out", "-")
	if r.code != 0 || r.stdout != "dash secret" {
		t.Fatalf("unseal --out -: %d %q %q", r.code, r.stdout, r.stderr)
	}
	var o, e bytes.Buffer
	en := &env{stdin: strings.NewReader(""), stdout: &o, stderr: &e, stdoutIsTerminal: func() bool { return true }, tpmOptions: tt.Options}
	if code := run([]string{"slkit", "--tpm", tt.Spec, "unseal", sealed, "--out", "-"}, en); code != 1 || o.Len() != 0 || !strings.Contains(e.String(), "terminal") {
		t.Fatalf("unseal --out - to a terminal: %d %q %q", code, o.String(), e.String())
	}
	pkey := filepath.Join(dir, "p.key")
	runSlkit(t, nil, "policy", "keygen", "--out", pkey)
	doc := f(t, dir, "doc.json", `{"version": 1, "entries": [{"name": "a", "kernel": {"path": "/k", "sha256": "`+strings.Repeat("a", 64)+`"}, "cmdline": "", "profile": "measured-v1"}]}`)
	r = runSlkit(t, nil, "policy", "sign", "--key", pkey, "--in", doc, "--out", "-")
	if r.code != 0 || !strings.Contains(r.stdout, `"payloadType"`) {
		t.Fatalf("policy sign --out -: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestCLILaunchDryRunLeavesNoTemp: a dry run leaves nothing in $TMPDIR
// (u-root's image load used to leave a copy of the kernel and of the
// initrd with the event log there on every run).
func TestCLILaunchDryRunLeavesNoTemp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	tt := tpmtest.Open(t)
	fx := writeLaunchFiles(t)
	key := fx.policyKey(t)
	signed := fx.sign(t, key, "signed.json", fx.policyDoc(sha256Hex(fx.kb)))
	r := runSlkit(t, tt, "launch", "--policy", signed, "--policy-key", key+".pub", "--root", fx.root, "--log", filepath.Join(fx.dir, "log"), "--dry-run")
	if r.code != 0 {
		t.Fatalf("launch --dry-run: %d %q", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("the dry run left %v in $TMPDIR", names)
	}
}

// TestCLIMeasureChecksLogFirst: when the event log cannot be written,
// measure extends no PCR (a PCR extended without its log entry would make
// the log useless to explain the launch).
func TestCLIMeasureChecksLogFirst(t *testing.T) {
	tt := tpmtest.Open(t)
	fx := writeLaunchFiles(t)
	valid, _ := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	vb, _ := valid.MarshalBinary()
	linkLog := filepath.Join(fx.dir, "link.log")
	os.Symlink(f(t, fx.dir, "target.log", string(vb)), linkLog)
	dangling := filepath.Join(fx.dir, "dangling.log")
	os.Symlink(filepath.Join(fx.dir, "nowhere.log"), dangling)
	zero := make([]byte, 32)
	// /proc refuses new files: the log's directory cannot be created.
	for _, log := range []string{"/proc/slkit-no-such-dir/log", linkLog, dangling} {
		r := runSlkit(t, tt, "measure", "--kernel", fx.kernel, "--initrd", fx.initrd, "--cmdline", "c", "--log", log)
		if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, log) {
			t.Errorf("measure --log %s: exit %d %q, want a one-line refusal naming it", log, r.code, r.stderr)
		}
		pcrs, err := tpm.ReadPCRs(tt, tpm.Selection{tpm.SHA256: {8, 9}})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{8, 9} {
			if v, _ := pcrs.Get(tpm.SHA256, i); !v.Equal(zero) {
				t.Fatalf("measure --log %s: PCR %d was extended although the log cannot be written", log, i)
			}
		}
	}
}
