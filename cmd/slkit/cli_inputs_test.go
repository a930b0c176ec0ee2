package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// tpmUse counts how often a command opened the TPM and how many commands
// it sent.
type tpmUse struct{ opens, commands atomic.Int64 }

type countingTPM struct {
	transport.TPM
	u *tpmUse
}

func (c countingTPM) Send(cmd []byte) ([]byte, error) {
	c.u.commands.Add(1)
	return c.TPM.Send(cmd)
}
func (c countingTPM) Close() error { return nil }

// runCounted runs the CLI in-process with the TPM behind a counter ("--tpm
// count") and, for efi and launch, the efitest store st as the variables.
func runCounted(t *testing.T, tt *tpmtest.TPM, st *efitest.Store, u *tpmUse, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, stdoutIsTerminal: func() bool { return false },
		tpmOptions: []tpm.OpenOption{tpm.WithBackend("count", func(string) (transport.TPMCloser, error) {
			u.opens.Add(1)
			return countingTPM{tt, u}, nil
		})}}
	app := newApp(e)
	fake := func(_ *cli.Context, opts ...efi.Option) (*efi.Vars, error) { return st.Vars(opts...), nil }
	seams := efiSeams{
		open:   func(_ string, opts ...efi.Option) (*efi.Vars, error) { return st.Vars(opts...), nil },
		reboot: func() error { t.Error("a launch rebooted"); return nil },
	}
	for i, c := range app.Commands {
		switch c.Name {
		case "efi":
			app.Commands[i] = newEFICommand(e, fake)
			checkFlags(app.Commands[i])
		case "launch":
			c.Action = func(c *cli.Context) error { return launchAction(e, c, seams) }
		}
	}
	code := 0
	if err := app.Run(clikit.Interspersed(app, append([]string{"slkit", "--tpm", "count"}, args...))); err != nil {
		code = clikit.ExitCode(err)
		fmt.Fprintf(&errb, "slkit: %s\n", clikit.OneLine(err.Error()))
	}
	return cliResult{out.String(), errb.String(), code}
}

// badInputs are inputs no command may read: /dev/zero (endless), a sparse
// 1 GiB file (larger than any input's limit), and a FIFO without a writer
// (opening it for reading would block forever without O_NONBLOCK).
func badInputs(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse-1GiB")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"/dev/zero": "/dev/zero", "sparse": sparse, "fifo": fifo}
}

// TestCLIBoundedInputs runs every command that reads a file with each bad
// input in place of one file: one line naming it, exit 1, no TPM opened,
// nothing written. Streamed images (kernel, initrd, pcr extend --data) may
// be large, so only /dev/zero and the FIFO are tried there.
func TestCLIBoundedInputs(t *testing.T) {
	tt := tpmtest.Open(t)
	f := writeLaunchFiles(t)
	d := f.dir
	pkey := f.policyKey(t)
	ppub := pkey + ".pub"
	signed := f.sign(t, pkey, "signed.json", f.policyDoc(sha256Hex(f.kb)))
	doc := filepath.Join(d, "signed.json.in")
	secret := f.write(t, "secret", "0123456789abcdef")
	pin := f.write(t, "pin", "4711\n")
	st := efitest.New()
	ekey, epub, jr := filepath.Join(d, "efi.key"), filepath.Join(d, "efi.pub"), filepath.Join(d, "journal")
	runEFI(t, st, "", "efi", "keygen", "--out", ekey, "--pub", epub)
	vendor := "Thing-" + vendorGUIDText
	if r := runEFI(t, st, "", "efi", "queue", "set", vendor, "--hex", "01", "--key", ekey, "--journal", jr); r.code != 0 {
		t.Fatal(r.stderr)
	}
	sealed, sealedPIN := filepath.Join(d, "s.sealed"), filepath.Join(d, "p.sealed")
	for _, a := range [][]string{
		{"seal", "--pcrs", "7", "--in", secret, "--out", sealed},
		{"seal", "--pcrs", "7", "--pin-file", pin, "--in", secret, "--out", sealedPIN},
	} {
		if r := runSlkit(t, tt, a...); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	values := filepath.Join(d, "pcrs.json")
	if r := runSlkit(t, tt, "pcr", "read", "--json", "7", "8"); r.code != 0 {
		t.Fatal(r.stderr)
	} else {
		os.WriteFile(values, []byte(r.stdout), 0o600)
	}
	elog := filepath.Join(d, "log.bin")
	if r := runSlkit(t, tt, "measure", "--kernel", f.kernel, "--cmdline", "x", "--log", elog); r.code != 0 {
		t.Fatal(r.stderr)
	}
	out := filepath.Join(d, "out")
	const B = "BAD"
	entry := []string{"--kernel", f.kernel, "--initrd", f.initrd, "--cmdline", "console=ttyS0 quiet"}
	with := func(cmd string, extra ...string) []string { return append(append([]string{cmd}, entry...), extra...) }
	cases := []struct {
		args     []string
		streamed bool
	}{
		{[]string{"pcr", "extend", "--pcr", "16", "--data", B}, true},
		{[]string{"pcr", "compare", B, values}, false},
		{[]string{"pcr", "compare", values, B}, false},
		{[]string{"eventlog", "show", B}, false},
		{[]string{"eventlog", "replay", "--against-tpm", B}, false},
		{[]string{"eventlog", "export", "--format", "cel-json", B}, false},
		{[]string{"seal", "--pcrs", "7", "--in", B, "--out", out}, false},
		{[]string{"seal", "--pcrs", "7", "--in", secret, "--pcr-values", B, "--out", out}, false},
		{[]string{"seal", "--pcrs", "7", "--in", secret, "--pin-file", B, "--out", out}, false},
		{[]string{"seal", "--pcrs", "7", "--in", secret, "--eventlog", B, "--out", out}, false},
		{[]string{"unseal", B, "--out", out}, false},
		{[]string{"unseal", sealedPIN, "--pin-file", B, "--out", out}, false},
		{[]string{"unseal", sealed, "--eventlog", B, "--out", out}, false},
		{[]string{"predict", "--kernel", B, "--cmdline", "x"}, true},
		{[]string{"predict", "--kernel", f.kernel, "--initrd", B, "--cmdline", "x"}, true},
		{with("predict", "--policy", B), false},
		{with("predict", "--start", B), false},
		{[]string{"measure", "--kernel", B, "--cmdline", "x", "--log", out}, true},
		{with("measure", "--policy", B, "--log", out), false},
		{with("measure", "--log", B), false},
		{[]string{"policy", "sign", "--key", B, "--in", doc, "--out", out}, false},
		{[]string{"policy", "sign", "--key", pkey, "--in", B, "--out", out}, false},
		{[]string{"policy", "verify", B, "--pub", ppub}, false},
		{[]string{"policy", "verify", signed, "--pub", B}, false},
		{[]string{"launch", "--policy", B, "--policy-key", ppub, "--root", f.root, "--log", out, "--dry-run"}, false},
		{[]string{"launch", "--policy", signed, "--policy-key", B, "--root", f.root, "--log", out, "--dry-run"}, false},
		{[]string{"launch", "--policy", signed, "--policy-key", ppub, "--root", f.root, "--log", out, "--dry-run", "--handover", B + ":/slkit/x"}, false},
		{[]string{"launch", "--policy", signed, "--policy-key", ppub, "--root", f.root, "--log", out, "--dry-run", "--efi-journal", B, "--efi-pub", epub}, false},
		{[]string{"launch", "--policy", signed, "--policy-key", ppub, "--root", f.root, "--log", out, "--dry-run", "--efi-journal", jr, "--efi-pub", B}, false},
		{[]string{"launch", "--policy", signed, "--policy-key", ppub, "--root", f.root, "--log", B, "--dry-run"}, false},
		{[]string{"drtm", "status", "--platform", B}, false},
		{[]string{"drtm", "verify", "--log", B}, false},
		{[]string{"drtm", "stage", "--backend", "grub", "--kernel", f.kernel, "--dce", B, "--out", out}, false},
		{[]string{"drtm", "stage", "--backend", "emulated", "--kernel", B, "--cmdline", "x", "--out", out}, true},
		{[]string{"launch", "--policy", signed, "--policy-key", ppub, "--root", f.root, "--log", out, "--dry-run", "--drtm", "hardware", "--dce", B}, false},
		{[]string{"efi", "queue", "set", vendor, "--hex", "02", "--key", B, "--journal", jr}, false},
		{[]string{"efi", "queue", "set", vendor, "--file", B, "--key", ekey, "--journal", jr}, false},
		{[]string{"efi", "queue", "set", vendor, "--hex", "02", "--expect-file", B, "--key", ekey, "--journal", jr}, false},
		{[]string{"efi", "queue", "set", vendor, "--hex", "02", "--key", ekey, "--journal", B}, false},
		{[]string{"efi", "queue", "list", "--journal", B}, false},
		{[]string{"efi", "queue", "verify", "--journal", jr, "--pub", B}, false},
		{[]string{"efi", "commit", "--journal", B, "--pub", epub}, false},
		{[]string{"efi", "commit", "--journal", jr, "--state", B, "--pub", epub, "--allow", "*-" + vendorGUIDText}, false},
		{[]string{"update", "prepare", "--journal", jr, "--sealed", B}, false},
		{[]string{"update", "prepare", "--journal", B, "--sealed", sealed}, false},
		{[]string{"update", "prepare", "--journal", jr, "--pub", B, "--sealed", sealed}, false},
		{[]string{"update", "prepare", "--journal", jr, "--sealed", sealed, "--next-pcrs", B}, false},
		{[]string{"update", "prepare", "--journal", jr, "--sealed", sealed, "--start", B, "--next-policy", signed, "--policy-key", ppub}, false},
		{[]string{"update", "prepare", "--journal", jr, "--sealed", sealed, "--next-policy", B, "--policy-key", ppub}, false},
		{[]string{"update", "prepare", "--journal", jr, "--sealed", sealed, "--next-policy", signed, "--policy-key", B}, false},
		{[]string{"update", "prepare", "--journal", jr, "--sealed", sealedPIN, "--pin-file", B}, false},
		{[]string{"update", "finish", "--sealed", B}, false},
		{[]string{"update", "finish", "--sealed", sealed, "--eventlog", B}, false},
		{[]string{"update", "status", "--sealed", sealedPIN, "--pin-file", B}, false},
	}
	for name, bad := range badInputs(t) {
		for i, tc := range cases {
			if tc.streamed && name == "sparse" {
				continue
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, B, bad)
			}
			t.Run(fmt.Sprintf("%s/%02d_%s", name, i, strings.Join(tc.args[:2], "_")), func(t *testing.T) {
				var u tpmUse
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				r := runCounted(t, tt, st, &u, args...)
				runtime.ReadMemStats(&after)
				if a := after.TotalAlloc - before.TotalAlloc; a > 32<<20 {
					t.Errorf("slkit %s: allocated %d MiB: the input was read before it was refused", strings.Join(args, " "), a>>20)
				}
				if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, bad) {
					t.Errorf("slkit %s: exit %d, stderr %q: want exit 1 and one line naming %s", strings.Join(args, " "), r.code, r.stderr, bad)
				}
				if n, c := u.opens.Load(), u.commands.Load(); n != 0 || c != 0 {
					t.Errorf("slkit %s: the TPM was opened %d times, %d commands", strings.Join(args, " "), n, c)
				}
				if _, err := os.Lstat(out); err == nil {
					t.Errorf("slkit %s: wrote %s", strings.Join(args, " "), out)
					os.Remove(out)
				}
			})
		}
	}
}
