package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

type updateFiles struct {
	dir, secret, sealed, key, pub, journal string
}

func newUpdateFiles(t *testing.T) *updateFiles {
	d := t.TempDir()
	u := &updateFiles{dir: d, secret: filepath.Join(d, "secret"), sealed: filepath.Join(d, "s.sealed"),
		key: filepath.Join(d, "efi.key"), pub: filepath.Join(d, "efi.key.pub"), journal: filepath.Join(d, "journal")}
	os.WriteFile(u.secret, []byte("update cli secret"), 0o600)
	if r := runSlkit(t, nil, "efi", "keygen", "--out", u.key); r.code != 0 {
		t.Fatal(r.stderr)
	}
	return u
}

func (u *updateFiles) queue(t *testing.T, args ...string) {
	t.Helper()
	st := efitest.New()
	if r := runEFI(t, st, "", append(append([]string{"efi", "queue", "set"}, args...), "--key", u.key, "--journal", u.journal)...); r.code != 0 {
		t.Fatal(r.stderr)
	}
}

// stageBoot is a boot as far as the pre-launch stage: a reset, the
// firmware's PCR 1 (BootOrder), the EFI stub's PCR 9, the update counter
// counted (defined on first use) while PCR 8 is at its reset value, then
// the launch's PCR 8.
func stageBoot(t *testing.T, tt *tpmtest.TPM, firmware string) {
	t.Helper()
	if err := tt.Reboot(); err != nil {
		t.Fatal(err)
	}
	extendCLI(t, tt, "1", firmware)
	extendCLI(t, tt, "9", "pre-launch image")
	c, _, err := tpm.OpenOrDefineAnchor(tt, tpm.DefaultCounterIndex)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Increment(tt); err != nil {
		t.Fatal(err)
	}
	extendCLI(t, tt, "8", "launch")
}

func extendCLI(t *testing.T, tt *tpmtest.TPM, pcr, data string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "d")
	os.WriteFile(p, []byte(data), 0o600)
	if r := runSlkit(t, tt, "pcr", "extend", "--pcr", pcr, "--data", p); r.code != 0 {
		t.Fatal(r.stderr)
	}
}

// TestCLIUpdateReboot runs the reboot workflow through the CLI: seal to
// PCR 1 (where the firmware measures BootOrder) and a launch PCR, queue,
// prepare, reboot into the new BootOrder, launch (counter incremented),
// unseal through the update object, finish; a copy of the prepared file is
// useless after the next launch.
func TestCLIUpdateReboot(t *testing.T) {
	tt := tpmtest.Open(t)
	u := newUpdateFiles(t)
	stageBoot(t, tt, "BootOrder 0000")
	if r := runSlkit(t, tt, "seal", "--pcrs", "1,8", "--in", u.secret, "--out", u.sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	fp := runSlkit(t, tt, "unseal", u.sealed, "--fingerprint").stdout

	r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--sealed", u.sealed)
	if r.code != 1 || !strings.Contains(r.stderr, "nothing queued: no journal at") {
		t.Fatalf("no journal: %d %q", r.code, r.stderr)
	}
	u.queue(t, "Thing-"+vendorGUIDText, "--hex", "01")
	u.queue(t, "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--boot-order", "0001,0000")
	u.queue(t, "BootNext-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--u16", "1")
	r = runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--via", "kexec")
	if r.code != 1 || !strings.Contains(r.stderr, "takes effect only through a firmware reboot, which a kexec round trip skips: use --via reboot") {
		t.Fatalf("kexec with BootNext: %d %q", r.code, r.stderr)
	}
	other := filepath.Join(u.dir, "other.key")
	runSlkit(t, nil, "efi", "keygen", "--out", other)
	if r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--pub", other+".pub", "--sealed", u.sealed); r.code != 3 || !strings.Contains(r.stderr, "wrong key") {
		t.Fatalf("other key: %d %q", r.code, r.stderr)
	}
	c, _ := tpm.OpenCounter(tt, tpm.DefaultCounterIndex)
	now, _ := c.Read(tt)
	r = runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--pub", u.pub, "--sealed", u.sealed)
	if r.code != 0 || !strings.Contains(r.stdout, "3 of 3 entries pending, signature verified") ||
		!strings.Contains(r.stdout, "reboots through the firmware after committing (3 set BootNext-") ||
		!strings.Contains(r.stdout, fmt.Sprintf("update object sealed to sha256 PCRs 8,9; firmware PCRs 1 left out (the queued changes are measured there), bounded by the update window: counter 0x0180534c in %d..%d (now %d: the next launch opens it) and by PCRs 9 as the pre-launch stage leaves them", now+1, now+1, now)) {
		t.Fatalf("prepare: %d %q %q", r.code, r.stdout, r.stderr)
	}
	prepared, _ := os.ReadFile(u.sealed)
	r = runSlkit(t, tt, "update", "status", "--sealed", u.sealed)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("the main object unseals; update window: counter 0x0180534c in %d..%d, now %d", now+1, now+1, now)) {
		t.Fatalf("status: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runSlkit(t, tt, "update", "finish", "--sealed", u.sealed); r.code != 3 || !strings.Contains(r.stderr, "update not done yet") || !strings.Contains(r.stderr, "update window not open") {
		t.Fatalf("finish too early: %d %q", r.code, r.stderr)
	}

	// The firmware reboot, the post-update launch.
	stageBoot(t, tt, "BootOrder 0001,0000")
	if r := runSlkit(t, tt, "unseal", u.sealed, "--fingerprint"); r.code != 0 || r.stdout != fp {
		t.Fatalf("unseal after the update: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runSlkit(t, tt, "update", "status", "--sealed", u.sealed)
	if r.code != 0 || !strings.Contains(r.stdout, "the update object unseals (the main object is refused: PCR 1: sha256 differs") || !strings.Contains(r.stdout, fmt.Sprintf("now %d", now+1)) {
		t.Fatalf("status after: %d %q", r.code, r.stdout)
	}
	r = runSlkit(t, tt, "update", "finish", "--sealed", u.sealed)
	if r.code != 0 || !strings.Contains(r.stdout, "resealed to the current PCRs 1,8 (the update object released the secret; the main object was refused: PCR 1") ||
		!strings.Contains(r.stdout, "closes at the next launch") {
		t.Fatalf("finish: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(u.sealed); strings.Contains(string(b), `"update"`) {
		t.Fatal("the update object is still in the file")
	}
	if r := runSlkit(t, tt, "unseal", u.sealed, "--fingerprint"); r.code != 0 || r.stdout != fp {
		t.Fatalf("unseal after finish: %q", r.stderr)
	}
	// The next launch: the copy of the prepared file is useless, the
	// resealed file unseals.
	stageBoot(t, tt, "BootOrder 0001,0000")
	old := filepath.Join(u.dir, "prepared.sealed")
	os.WriteFile(old, prepared, 0o600)
	want := fmt.Sprintf("update object: update window closed: counter 0x0180534c is %d, the window allowed launches %d to %d", now+2, now+1, now+1)
	if r := runSlkit(t, tt, "unseal", old, "--fingerprint"); r.code != 3 || !strings.Contains(r.stderr, want) {
		t.Fatalf("old copy: %d %q", r.code, r.stderr)
	}
	if r := runSlkit(t, tt, "unseal", u.sealed, "--fingerprint"); r.code != 0 || r.stdout != fp {
		t.Fatalf("unseal at the next launch: %q", r.stderr)
	}
}

// TestCLIUpdateKexec prepares a kexec round trip with predictions from the
// two launch policies, performs it with `slkit launch --dry-run` (which
// measures exactly what a real launch does), and finishes.
func TestCLIUpdateKexec(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tt := tpmtest.Open(t)
	u := newUpdateFiles(t)
	f := writeLaunchFiles(t)
	key := f.policyKey(t)
	sign := func(name, doc string) string { return f.sign(t, key, name, doc) }
	next := sign("next.json", f.policyDoc(sha256Hex(f.kb)))
	relaunch := sign("relaunch.json", strings.Replace(f.policyDoc(sha256Hex(f.kb)), `"default"`, `"prelaunch"`, 1))
	launchOnce := func(pol string) {
		t.Helper()
		if r := runSlkit(t, tt, "launch", "--policy", pol, "--policy-key", key+".pub", "--root", f.root, "--log", filepath.Join(f.dir, "log"), "--dry-run"); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	extendCLI(t, tt, "0", "firmware")
	launchOnce(next)
	if r := runSlkit(t, tt, "seal", "--pcrs", "0,8,9", "--in", u.secret, "--out", u.sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	u.queue(t, "Thing-"+vendorGUIDText, "--hex", "02")
	r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--via", "kexec",
		"--relaunch-policy", relaunch, "--relaunch-entry", "prelaunch", "--next-policy", next, "--policy-key", key+".pub")
	if r.code != 0 || !strings.Contains(r.stdout, "update object sealed to sha256 PCRs 0,8,9, PCRs 8,9 predicted for") ||
		!strings.Contains(r.stdout, "from the current PCR values") || strings.Contains(r.stdout, "window") {
		t.Fatalf("prepare: %d %q %q", r.code, r.stdout, r.stderr)
	}
	launchOnce(relaunch) // the launched OS relaunches the pre-launch environment
	launchOnce(next)     // which launches the target again
	r = runSlkit(t, tt, "update", "finish", "--sealed", u.sealed)
	if r.code != 0 || !strings.Contains(r.stdout, "the update object released the secret; the main object was refused: PCR 8") {
		t.Fatalf("finish: %d %q %q", r.code, r.stdout, r.stderr)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--launches", "0"}, "--launches 0: want 1 to 16"},
		{[]string{"update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--next-entry", "x"}, "--next-entry needs --next-policy"},
		{[]string{"update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--next-policy", next}, "--policy-key is required"},
		{[]string{"update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--relaunch-policy", next, "--policy-key", key + ".pub"}, "--relaunch-policy is for --via kexec"},
		{[]string{"update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--via", "usb"}, `--via "usb": want reboot or kexec`},
		{[]string{"update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--counter", "0x81000001"}, "not an NV index"},
		{[]string{"update", "prepare", "--journal", u.journal}, "--sealed is required"},
		{[]string{"update", "finish", "--sealed", filepath.Join(u.dir, "nope")}, "nope: no such file"},
	} {
		r := runSlkit(t, tt, c.args...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d %q", c.args[1:], r.code, r.stderr)
		}
	}
	// A vendor variable is measured nowhere: a secret sealed to firmware
	// PCRs needs nothing.
	only := filepath.Join(u.dir, "fw.sealed")
	runSlkit(t, tt, "seal", "--pcrs", "0,7", "--in", u.secret, "--out", only)
	if r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--sealed", only); r.code != 0 || !strings.Contains(r.stdout, "unchanged: the queued changes are not measured into PCRs 0,7") {
		t.Fatalf("firmware PCRs, vendor change: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestCLIUpdatePrepareJSON(t *testing.T) {
	tt := tpmtest.Open(t)
	u := newUpdateFiles(t)
	stageBoot(t, tt, "BootOrder 0000")
	runSlkit(t, tt, "seal", "--pcrs", "1,8", "--in", u.secret, "--out", u.sealed)
	u.queue(t, "Thing-"+vendorGUIDText, "--hex", "01")
	u.queue(t, "Boot0001-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--hex", "01000000040041000000"+"7fff0400")
	r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--sealed", u.sealed, "--launches", "2", "--json")
	var got struct {
		Journal struct {
			Pending  int  `json:"pending"`
			Verified bool `json:"verified"`
		} `json:"journal"`
		Files []struct {
			File    string `json:"file"`
			PCRs    []int  `json:"pcrs"`
			Dropped []int  `json:"dropped"`
			Window  struct {
				Index    uint32 `json:"index"`
				Min, Max uint64
			} `json:"window"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || got.Journal.Pending != 2 || got.Journal.Verified ||
		len(got.Files) != 1 || got.Files[0].File != u.sealed || fmt.Sprint(got.Files[0].PCRs, got.Files[0].Dropped) != "[8 9] [1]" ||
		got.Files[0].Window.Index != tpm.DefaultCounterIndex || got.Files[0].Window.Max != got.Files[0].Window.Min+1 {
		t.Fatalf("prepare --json: %v %d %s %s", err, r.code, r.stdout, r.stderr)
	}
}
