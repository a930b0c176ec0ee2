package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// launchFixture is a pre-launch environment's files: a signed policy, the
// journal key, the journal and state paths.
type launchFixture struct {
	f                 *launchFiles
	policy, pub, key  string
	ekey, epub, j, st string
}

func newLaunchFixture(t *testing.T) *launchFixture {
	t.Setenv("TMPDIR", t.TempDir())
	f := writeLaunchFiles(t)
	key := f.policyKey(t)
	x := &launchFixture{f: f, key: key, pub: key + ".pub", policy: f.sign(t, key, "good.json", f.policyDoc(sha256Hex(f.kb))),
		ekey: filepath.Join(f.dir, "efi.key"), epub: filepath.Join(f.dir, "efi.pub"), j: filepath.Join(f.dir, "journal")}
	x.st = x.j + ".state"
	runEFI(t, efitest.New(), "", "efi", "keygen", "--out", x.ekey, "--pub", x.epub)
	return x
}

func (x *launchFixture) args(pol string, extra ...string) []string {
	return append([]string{"launch", "--policy", pol, "--policy-key", x.pub, "--root", x.f.root, "--log", filepath.Join(x.f.dir, "log"), "--dry-run",
		"--efi-journal", x.j, "--efi-pub", x.epub}, extra...)
}

// queue queues a change as the launched OS does, reading the journal's
// anchor from the TPM.
func (x *launchFixture) queue(t *testing.T, tt *tpmtest.TPM, st *efitest.Store, args ...string) {
	t.Helper()
	if r := runEFIOn(t, tt, st, "", append(append([]string{"efi", "queue", "set"}, args...), "--key", x.ekey, "--journal", x.j)...); r.code != 0 {
		t.Fatal(r.stderr)
	}
}

// TestCLILaunchRefusesReplayedJournal: `slkit launch --efi-journal`
// commits against the TPM anchor: after the state file is deleted, an
// older journal is refused (exit 3, both generations named) and BootOrder
// is not rolled back.
func TestCLILaunchRefusesReplayedJournal(t *testing.T) {
	tt := tpmtest.Open(t)
	x := newLaunchFixture(t)
	st := efitest.New(efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}))
	reboots := 0
	launch := func(extra ...string) cliResult {
		t.Helper()
		tt.Reboot()
		return runLaunchEFI(t, tt, st, &reboots, x.args(x.policy, extra...)...)
	}
	x.queue(t, tt, st, efi.BootOrder.String(), "--boot-order", "0001,0002")
	old, _ := os.ReadFile(x.j)
	if r := launch(); r.code != 0 {
		t.Fatalf("generation 1: %q", r.stderr)
	}
	x.queue(t, tt, st, efi.BootOrder.String(), "--boot-order", "0002,0001")
	if r := launch(); r.code != 0 {
		t.Fatalf("generation 2: %q", r.stderr)
	}
	os.Remove(x.st)
	os.WriteFile(x.j, old, 0o600)
	sets := st.Sets()
	r := launch()
	if r.code != 3 || !strings.Contains(lastLine(r.stderr), "generation 1 is older than generation 2, which the TPM anchor says was applied") || st.Sets() != sets {
		t.Fatalf("replay: %d %q", r.code, r.stderr)
	}
	if _, v, _ := st.Value(efi.BootOrder); string(v) != "\x02\x00\x01\x00" {
		t.Fatalf("BootOrder rolled back: % x", v)
	}
}

// TestCLILaunchHostileDisk: a FIFO at the journal, a directory at the
// state file, a journal that vanished unapplied: each is a bad journal,
// refused in one line (never a hang, never an I/O error that
// --efi-skip-bad-journal cannot skip), and launched without with it.
func TestCLILaunchHostileDisk(t *testing.T) {
	tt := tpmtest.Open(t)
	x := newLaunchFixture(t)
	st := efitest.New()
	reboots := 0
	for _, c := range []struct {
		name, msg string
		code      int
		mess      func()
	}{
		{"FIFO at the journal", "not a regular file (a FIFO)", 1, func() { os.Remove(x.j); syscall.Mkfifo(x.j, 0o600) }},
		{"directory at the state", "not a regular file (a directory)", 1, func() { os.Mkdir(x.st, 0o700) }},
		{"journal gone unapplied", "journal missing", 3, func() {
			st.FailNext(efi.BootOrder, syscall.EINTR)
			tt.Reboot()
			runLaunchEFI(t, tt, st, &reboots, x.args(x.policy)...)
			os.Remove(x.j)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.RemoveAll(x.j)
			os.RemoveAll(x.st)
			x.queue(t, tt, st, efi.BootOrder.String(), "--boot-order", "0003")
			c.mess()
			done := make(chan cliResult, 1)
			go func() { tt.Reboot(); done <- runLaunchEFI(t, tt, st, &reboots, x.args(x.policy)...) }()
			var r cliResult
			select {
			case r = <-done:
			case <-time.After(time.Minute):
				t.Fatal("the launch blocked on the disk for a minute")
			}
			if r.code != c.code || !strings.Contains(lastLine(r.stderr), "nothing committed, nothing launched") || !strings.Contains(lastLine(r.stderr), c.msg) {
				t.Fatalf("refusal: %d %q", r.code, r.stderr)
			}
			tt.Reboot()
			r = runLaunchEFI(t, tt, st, &reboots, x.args(x.policy, "--efi-skip-bad-journal")...)
			if r.code != 0 || !strings.Contains(r.stderr, "warning: nothing committed, launching without the journal") || !strings.Contains(r.stderr, c.msg) {
				t.Fatalf("skip: %d %q", r.code, r.stderr)
			}
		})
	}
}

// TestCLIPolicyRollback: with --policy-anchor the launch refuses a policy
// whose policy_version is below the TPM's minimum (exit 3, both versions
// named); the minimum rises only once the launched OS confirmed the
// newer policy (`slkit policy confirm`), at the next launch.
func TestCLIPolicyRollback(t *testing.T) {
	tt := tpmtest.Open(t)
	x := newLaunchFixture(t)
	doc := func(v string) string {
		return strings.Replace(x.f.policyDoc(sha256Hex(x.f.kb)), `"version": 1,`, `"version": 1, "policy_version": `+v+`,`, 1)
	}
	v1 := x.f.sign(t, x.key, "v1.json", doc("1"))
	v2 := x.f.sign(t, x.key, "v2.json", doc("2"))
	confirm := filepath.Join(x.f.dir, "policy.confirmed")
	reboots := 0
	launch := func(pol string) cliResult {
		t.Helper()
		tt.Reboot()
		return runLaunchEFI(t, tt, nil, &reboots, "launch", "--policy", pol, "--policy-key", x.pub, "--root", x.f.root,
			"--log", filepath.Join(x.f.dir, "log"), "--dry-run", "--policy-anchor", "0x0180534d", "--policy-confirm", confirm)
	}
	if r := launch(v2); r.code != 0 || !strings.Contains(r.stderr, "launch policy version 2, TPM minimum 0") {
		t.Fatalf("v2: %d %q", r.code, r.stderr)
	}
	if r := launch(v1); r.code != 0 {
		t.Fatalf("v1 before v2 was confirmed: %d %q", r.code, r.stderr)
	}
	if r := runSlkit(t, nil, "policy", "confirm", "--policy", v2, "--out", confirm); r.code != 0 || !strings.Contains(r.stdout, "policy_version 2") {
		t.Fatalf("confirm: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := launch(v1); r.code != 0 {
		t.Fatalf("v1 launched with v2's confirmation on the disk: %d %q", r.code, r.stderr)
	}
	if r := launch(v2); r.code != 0 || !strings.Contains(r.stderr, "TPM minimum 2 (anchor 0x0180534d, raised") {
		t.Fatalf("v2 confirmed: %d %q", r.code, r.stderr)
	}
	r := launch(v1)
	if r.code != 3 || strings.Count(r.stderr, "slkit: launch policy rolled back") != 1 ||
		!strings.Contains(lastLine(r.stderr), "launch policy version 1 is below the minimum version 2 the TPM holds") || strings.Contains(r.stderr, "phase=measure") {
		t.Fatalf("v1 after v2: %d %q", r.code, r.stderr)
	}
}
