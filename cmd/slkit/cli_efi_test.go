package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// runEFI runs the CLI in-process with `slkit efi` over the efitest fake,
// without a TPM: the journal commands get --anchor none (generations from
// the state file) unless the test gives --anchor.
func runEFI(t *testing.T, st *efitest.Store, stdin string, args ...string) cliResult {
	t.Helper()
	if len(args) > 1 && args[0] == "efi" && (args[1] == "queue" || args[1] == "commit") && !slices.Contains(args, "--anchor") {
		args = append(args, "--anchor", "none")
	}
	return runEFIOn(t, nil, st, stdin, args...)
}

// runEFIOn is runEFI with the test TPM tt (nil: none).
func runEFIOn(t *testing.T, tt *tpmtest.TPM, st *efitest.Store, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, stdoutIsTerminal: func() bool { return false }}
	if tt != nil {
		e.tpmOptions = tt.Options
		args = append([]string{"--tpm", tt.Spec}, args...)
	}
	app := newApp(e)
	for i, c := range app.Commands {
		if c.Name == "efi" {
			app.Commands[i] = newEFICommand(e, func(_ *cli.Context, opts ...efi.Option) (*efi.Vars, error) { return st.Vars(opts...), nil })
			checkFlags(app.Commands[i])
		}
	}
	code := 0
	if err := app.Run(clikit.Interspersed(app, append([]string{"slkit"}, args...))); err != nil {
		code = clikit.ExitCode(err)
		fmt.Fprintf(&errb, "slkit: %s\n", clikit.OneLine(err.Error()))
	}
	return cliResult{out.String(), errb.String(), code}
}

const vendorGUIDText = "12345678-1234-1234-1234-123456789abc"

func TestCLIEFIVars(t *testing.T) {
	vendor, _ := efi.ParseName("Thing-" + vendorGUIDText)
	st := efitest.New(
		efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0, 0x10, 0}),
		efitest.WithVariable(vendor, efi.NonVolatile|efi.BootserviceAccess, []byte("abc")))
	r := runEFI(t, st, "", "efi", "vars", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c") || !strings.Contains(r.stdout, "NV|BS") {
		t.Fatalf("list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runEFI(t, st, "", "efi", "vars", "get", "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c")
	if r.code != 0 || !strings.Contains(r.stdout, "attributes: NV|BS|RT (0x00000007)") || !strings.Contains(r.stdout, "order: 0001,0010") {
		t.Fatalf("get: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runEFI(t, st, "", "efi", "vars", "get", "--json", vendor.String())
	var got struct {
		Name       string   `json:"name"`
		GUID       string   `json:"guid"`
		Attributes uint32   `json:"attributes"`
		Names      []string `json:"attribute_names"`
		Data       string   `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Name != "Thing" || got.GUID != vendorGUIDText || got.Attributes != 3 || got.Data != "616263" {
		t.Fatalf("get --json: %v %q", err, r.stdout)
	}
	r = runEFI(t, st, "", "efi", "vars", "list", "--json")
	var all []json.RawMessage
	if json.Unmarshal([]byte(r.stdout), &all) != nil || len(all) != 2 {
		t.Fatalf("list --json: %q", r.stdout)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"efi", "vars", "get", "Missing-" + vendorGUIDText}, 1, "no such variable"},
		{[]string{"efi", "vars", "get", "BootOrder"}, 1, "want NAME-GUID"},
		{[]string{"efi", "vars", "get"}, 1, "want one NAME-GUID"},
	} {
		r := runEFI(t, st, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: %d %q", c.args, r.code, r.stderr)
		}
	}
}

func TestCLIEFIQueueAndCommit(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "efi.key"), filepath.Join(dir, "efi.pub")
	jr := filepath.Join(dir, "journal")
	st := efitest.New(efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}))
	r := runEFI(t, st, "", "efi", "keygen", "--out", key, "--pub", pub)
	_, keyID, _ := strings.Cut(strings.TrimSpace(r.stdout), "key id ")
	if r.code != 0 || len(keyID) != 64 {
		t.Fatalf("keygen: %q %s", r.stdout, r.stderr)
	}
	keyBytes, _ := os.ReadFile(key)
	vendor := "Setting-" + vendorGUIDText
	steps := [][]string{
		{"efi", "queue", "set", vendor, "--hex", "c0ffee", "--expect-absent", "--key", key, "--journal", jr},
		{"efi", "queue", "set", "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--boot-order", "0002,0001", "--expect-hex", "0100", "--key", key, "--journal", jr},
		{"efi", "queue", "set", "BootNext-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--u16", "2", "--key", "-", "--journal", jr},
		{"efi", "queue", "osindications", "--set", "boot-to-fw-ui", "--key", key, "--journal", jr},
		{"efi", "queue", "append", vendor, "--hex", "01", "--expect-hex", "c0ffee", "--key", key, "--journal", jr},
	}
	// A plain append must say what it appends to.
	if r := runEFI(t, st, "", "efi", "queue", "append", vendor, "--hex", "01", "--key", key, "--journal", jr); r.code != 1 || !strings.Contains(r.stderr, "an append needs a precondition") {
		t.Fatalf("append without a precondition: %d %q", r.code, r.stderr)
	}
	for _, a := range steps {
		if r := runEFI(t, st, string(keyBytes), a...); r.code != 0 {
			t.Fatalf("%v: %d %s", a, r.code, r.stderr)
		}
	}
	r = runEFI(t, st, "", "efi", "queue", "list", "--journal", jr, "--pub", pub)
	if r.code != 0 || !strings.Contains(r.stdout, "generation 1, 5 entries") || !strings.Contains(r.stdout, "signature verified") ||
		!strings.Contains(r.stdout, "key "+keyID[:32]) ||
		!strings.Contains(r.stdout, "5 osindications") {
		t.Fatalf("list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runEFI(t, st, "", "efi", "queue", "verify", "--journal", jr, "--pub", pub); r.code != 0 {
		t.Fatalf("verify: %s", r.stderr)
	}
	r = runEFI(t, st, "", "efi", "commit", "--journal", jr, "--pub", pub, "--allow", "*-"+vendorGUIDText, "--json")
	var res struct {
		RebootRequired bool `json:"reboot_required"`
		Entries        []struct {
			Outcome string `json:"outcome"`
		} `json:"entries"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &res) != nil || !res.RebootRequired || len(res.Entries) != 5 {
		t.Fatalf("commit: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, v, _ := st.Value(efi.Name{Name: "Setting", GUID: efi.GUID{0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x34, 0x12, 0x12, 0x34, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}}); !bytes.Equal(v, []byte{0xc0, 0xff, 0xee, 1}) {
		t.Fatalf("vendor variable % x", v)
	}
	if _, v, _ := st.Value(efi.BootOrder); !bytes.Equal(v, []byte{2, 0, 1, 0}) {
		t.Fatalf("BootOrder % x", v)
	}
	r = runEFI(t, st, "", "efi", "commit", "--journal", jr, "--pub", pub, "--allow", "*-"+vendorGUIDText)
	if r.code != 0 || strings.Contains(r.stdout, "reboot required") || !strings.Contains(r.stdout, "done-earlier") {
		t.Fatalf("second commit: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runEFI(t, st, "", "efi", "queue", "list", "--journal", jr, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"committed": true`) || !strings.Contains(r.stdout, `"status": "done"`) {
		t.Fatalf("list --json: %q", r.stdout)
	}
}

// A tampered journal commits nothing and says why in one line (exit 3).
func TestCLIEFITamperedJournal(t *testing.T) {
	dir := t.TempDir()
	key, pub, other := filepath.Join(dir, "k"), filepath.Join(dir, "k.pub"), filepath.Join(dir, "o")
	jr := filepath.Join(dir, "journal")
	st := efitest.New()
	runEFI(t, st, "", "efi", "keygen", "--out", key)
	runEFI(t, st, "", "efi", "keygen", "--out", other)
	if r := runEFI(t, st, "", "efi", "queue", "set", "BootNext-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--u16", "1", "--key", key, "--journal", jr); r.code != 0 {
		t.Fatal(r.stderr)
	}
	b, _ := os.ReadFile(jr)
	b[len(b)-5] ^= 1
	os.WriteFile(jr, b, 0o600)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"efi", "commit", "--journal", jr, "--pub", pub}, 3, "journal signature does not verify"},
		{[]string{"efi", "queue", "verify", "--journal", jr, "--pub", pub}, 3, "bad signature"},
		{[]string{"efi", "commit", "--journal", jr, "--pub", other + ".pub"}, 3, "signed by the wrong key"},
		{[]string{"efi", "commit", "--journal", jr}, 1, "--pub is required"},
		{[]string{"efi", "commit", "--journal", jr, "--pub", pub, "--allow", "nonsense"}, 1, "want NAME-GUID"},
		{[]string{"efi", "queue", "set", "BootNext-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--u16", "1", "--hex", "00", "--key", key, "--journal", jr}, 1, "exactly one of"},
		{[]string{"efi", "queue", "set", "BootNext-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--hex", "010000", "--key", key, "--journal", jr + "2"}, 1, "exactly 2 bytes"},
		{[]string{"efi", "queue", "delete", "X-" + vendorGUIDText, "--key", filepath.Join(dir, "nokey"), "--journal", jr}, 1, "nokey"},
	} {
		r := runEFI(t, st, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d %q", c.args[1:3], r.code, r.stderr)
		}
	}
	if st.Sets() != 0 || len(st.Names()) != 0 {
		t.Fatal("a tampered journal changed variables")
	}
	if _, err := os.Stat(jr + ".state"); !os.IsNotExist(err) {
		t.Fatal("a tampered journal wrote a state file")
	}
	if _, err := os.Stat(jr + "2"); !os.IsNotExist(err) {
		t.Fatal("a refused queue call wrote a journal")
	}
}

// runLaunchEFI runs the CLI in-process against the test TPM tt, with
// `slkit launch`'s EFI step over the efitest fake and a reboot that is
// only counted (a test must never reboot the host).
func runLaunchEFI(t *testing.T, tt *tpmtest.TPM, st *efitest.Store, reboots *int, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, stdoutIsTerminal: func() bool { return false }, tpmOptions: tt.Options}
	app := newApp(e)
	seams := efiSeams{
		open:   func(string, ...efi.Option) (*efi.Vars, error) { return nil, fmt.Errorf("no fake") },
		reboot: func() error { *reboots++; return nil },
	}
	if st != nil {
		seams.open = func(_ string, opts ...efi.Option) (*efi.Vars, error) { return st.Vars(opts...), nil }
	}
	for _, c := range app.Commands {
		if c.Name == "launch" {
			c.Action = func(c *cli.Context) error { return launchAction(e, c, seams) }
			checkFlags(c)
		}
	}
	code := 0
	if err := app.Run(clikit.Interspersed(app, append([]string{"slkit", "--tpm", tt.Spec}, args...))); err != nil {
		code = clikit.ExitCode(err)
		fmt.Fprintf(&errb, "slkit: %s\n", clikit.OneLine(err.Error()))
	}
	return cliResult{out.String(), errb.String(), code}
}

func phases(stderr string) string {
	var p []string
	for _, m := range phaseRE.FindAllStringSubmatch(stderr, -1) {
		p = append(p, m[1])
	}
	return strings.Join(p, " ")
}

// TestCLILaunchCommitsEFI: `slkit launch --efi-journal` commits the
// journal before it verifies the policy or measures anything; a change
// that needs the firmware reboots instead of launching (once: the next
// launch finds it done); a tampered journal commits nothing and refuses
// the launch (or, with --efi-skip-bad-journal, launches without it); the
// update counter is incremented before the measurement.
func TestCLILaunchCommitsEFI(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tt := tpmtest.Open(t)
	f := writeLaunchFiles(t)
	key := f.policyKey(t)
	sign := func(name, doc string) string { return f.sign(t, key, name, doc) }
	good := sign("good.json", f.policyDoc(sha256Hex(f.kb)))
	// A policy whose kernel does not match: were the EFI step to go on
	// after a reboot request, the launch would stop there, never at kexec.
	mismatch := sign("mismatch.json", f.policyDoc(sha256Hex([]byte("other kernel"))))
	ekey, epub, jr := filepath.Join(f.dir, "efi.key"), filepath.Join(f.dir, "efi.pub"), filepath.Join(f.dir, "journal")
	st := efitest.New(efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0, 2, 0}))
	runEFI(t, st, "", "efi", "keygen", "--out", ekey, "--pub", epub)
	vendor := "Setting-" + vendorGUIDText
	for _, a := range [][]string{
		{"efi", "queue", "set", vendor, "--hex", "c0ffee", "--expect-absent", "--key", ekey, "--journal", jr},
		{"efi", "queue", "set", "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--boot-order", "0002,0001", "--key", ekey, "--journal", jr},
	} {
		if r := runEFI(t, st, "", a...); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	efiArgs := []string{"--efi-journal", jr, "--efi-pub", epub, "--efi-allow", "*-" + vendorGUIDText}
	launchArgs := func(pol string, extra ...string) []string {
		return append(append([]string{"launch", "--policy", pol, "--policy-key", key + ".pub", "--root", f.root, "--log", filepath.Join(f.dir, "log"), "--dry-run"}, efiArgs...), extra...)
	}
	reboots := 0

	r := runLaunchEFI(t, tt, st, &reboots, launchArgs(good)...)
	if r.code != 0 || phases(r.stderr) != "efi-commit verify-policy measure kexec" || reboots != 0 {
		t.Fatalf("launch: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "slkit: efi:   1 set           applied        "+vendor) {
		t.Fatalf("entries not reported: %q", r.stderr)
	}
	if _, v, _ := st.Value(efi.BootOrder); !bytes.Equal(v, []byte{2, 0, 1, 0}) {
		t.Fatalf("BootOrder % x", v)
	}

	// BootNext takes effect only through the firmware: reboot, nothing measured.
	if r := runEFI(t, st, "", "efi", "queue", "set", "BootNext-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--u16", "2", "--key", ekey, "--journal", jr); r.code != 0 {
		t.Fatal(r.stderr)
	}
	tt.Reboot()
	args := launchArgs(mismatch)
	args = slices.DeleteFunc(args, func(s string) bool { return s == "--dry-run" })
	r = runLaunchEFI(t, tt, st, &reboots, args...)
	if reboots != 1 || !strings.Contains(r.stderr, "slkit: efi: rebooting: a committed change takes effect only through the firmware") ||
		phases(r.stderr) != "efi-commit reboot" || !strings.Contains(lastLine(r.stderr), "nothing launched") {
		t.Fatalf("reboot: %d reboots, %d %q", reboots, r.code, r.stderr)
	}
	if pcrs, _ := tpm.ReadPCRs(tt, tpm.Selection{tpm.SHA256: {8, 9}}); !must(pcrs.Get(tpm.SHA256, 8)).Equal(make([]byte, 32)) {
		t.Fatal("PCR 8 was extended by a launch that rebooted")
	}
	// After the reboot the journal is done: no second reboot, the launch
	// goes on — also when the firmware consumed BootNext, as it does.
	st.Reboot()
	if _, _, ok := st.Value(efi.BootNext); ok {
		t.Fatal("the fake firmware did not consume BootNext at the reboot")
	}
	tt.Reboot()
	r = runLaunchEFI(t, tt, st, &reboots, launchArgs(good)...)
	if r.code != 0 || reboots != 1 || !strings.Contains(r.stderr, "applied already (TPM anchor)") {
		t.Fatalf("after the reboot: %d reboots, %d %q", reboots, r.code, r.stderr)
	}

	// A tampered journal: nothing committed, the launch refused (exit 3).
	if r := runEFI(t, st, "", "efi", "queue", "set", vendor, "--hex", "0bad", "--key", ekey, "--journal", jr); r.code != 0 {
		t.Fatal(r.stderr)
	}
	b, _ := os.ReadFile(jr)
	b[len(b)-9] ^= 1
	os.WriteFile(jr, b, 0o600)
	sets := st.Sets()
	tt.Reboot()
	r = runLaunchEFI(t, tt, st, &reboots, launchArgs(good)...)
	if r.code != 3 || !strings.Contains(lastLine(r.stderr), "commit EFI variables: nothing committed, nothing launched") ||
		!strings.Contains(lastLine(r.stderr), "journal signature does not verify") || phases(r.stderr) != "efi-commit" || st.Sets() != sets {
		t.Fatalf("tampered: %d %q", r.code, r.stderr)
	}
	r = runLaunchEFI(t, tt, st, &reboots, launchArgs(good, "--efi-skip-bad-journal")...)
	if r.code != 0 || !strings.Contains(r.stderr, "warning: nothing committed, launching without the journal") || st.Sets() != sets {
		t.Fatalf("skip bad journal: %d %q", r.code, r.stderr)
	}

	// The update counter: defined by the first launch that counts, then
	// incremented before the measurement; a relaunch (PCR 8 already
	// extended) does not count.
	// No journal: nothing queued, and no EFI needed (the fake opener of nil fails).
	os.Remove(jr)
	tt.Reboot()
	r = runLaunchEFI(t, tt, nil, &reboots, launchArgs(good, "--update-counter", "0x0180534c")...)
	if r.code != 0 || !strings.Contains(r.stderr, "update counter 0x0180534c incremented to") || !strings.Contains(r.stderr, "nothing queued") {
		t.Fatalf("first count: %d %q", r.code, r.stderr)
	}
	c, err := tpm.OpenCounter(tt, tpm.DefaultCounterIndex)
	if err != nil {
		t.Fatal(err)
	}
	v0, _ := c.Read(tt)
	tt.Reboot()
	r = runLaunchEFI(t, tt, st, &reboots, launchArgs(good, "--update-counter", "0x0180534c")...)
	if v, _ := c.Read(tt); r.code != 0 || v != v0+1 || !strings.Contains(r.stderr, fmt.Sprintf("incremented to %d", v0+1)) ||
		strings.Index(r.stderr, "incremented") > strings.Index(r.stderr, "phase=measure") {
		t.Fatalf("counter: %d -> %d, %d %q", v0, v, r.code, r.stderr)
	}
	r = runLaunchEFI(t, tt, st, &reboots, launchArgs(good, "--update-counter", "0x0180534c")...)
	if v, _ := c.Read(tt); r.code != 0 || v != v0+1 || !strings.Contains(r.stderr, "not incremented: PCR 8 is not at its reset value") {
		t.Fatalf("relaunch: %d -> %d, %d %q", v0, v, r.code, r.stderr)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"launch", "--policy", good, "--policy-key", key + ".pub", "--efi-journal", jr}, "--efi-pub is required"},
		{[]string{"launch", "--policy", good, "--policy-key", key + ".pub", "--efi-pub", epub}, "--efi-pub needs --efi-journal"},
		{[]string{"launch", "--policy", good, "--policy-key", key + ".pub", "--update-counter", "0x81000001"}, "not an NV index"},
		{[]string{"launch", "--policy", good, "--policy-key", key + ".pub", "--efi-journal", jr, "--efi-pub", epub, "--efi-allow", "x"}, "--efi-allow"},
		{[]string{"launch", "--policy", good, "--policy-key", key + ".pub", "--efi-journal", jr, "--efi-pub", key}, "key.pem"},
	} {
		r := runLaunchEFI(t, tt, st, &reboots, c.args...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d %q", c.args[5:], r.code, r.stderr)
		}
	}
}

func must(d tpm.Digest, _ bool) tpm.Digest { return d }
