package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

// runEFI runs the CLI in-process with `slkit efi` over the efitest fake.
func runEFI(t *testing.T, st *efitest.Store, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, stdoutIsTerminal: func() bool { return false }}
	app := newApp(e)
	for i, c := range app.Commands {
		if c.Name == "efi" {
			app.Commands[i] = newEFICommand(e, func(_ *cli.Context, opts ...efi.Option) (*efi.Vars, error) { return st.Vars(opts...), nil })
			setUsageErrors(app.Commands[i])
			enforceRequired(app.Commands[i], "")
		}
	}
	code := 0
	if err := app.Run(interspersed(app, append([]string{"slkit"}, args...))); err != nil {
		code = exitCode(err)
		fmt.Fprintf(&errb, "slkit: %s\n", oneLine(err.Error()))
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
		{"efi", "queue", "append", vendor, "--hex", "01", "--key", key, "--journal", jr},
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
