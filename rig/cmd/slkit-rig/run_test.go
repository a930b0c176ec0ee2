package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/qemu/qemutest"
)

type result struct {
	stdout, stderr string
	code           int
}

// runRig runs slkit-rig in-process.
func runRig(args ...string) result {
	var out, errb bytes.Buffer
	code := run(append([]string{"slkit-rig"}, args...), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// TestRigRunUsageErrors: each contradiction is one line, exit 1, before
// anything starts.
func TestRigRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "vmlinuz")
	os.WriteFile(k, []byte("not booted"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kernel", k, "--secure-boot"}, "--secure-boot and --vars need --ovmf"},
		{[]string{"--kernel", k, "--vars", "v.fd"}, "--secure-boot and --vars need --ovmf"},
		{[]string{"--kernel", k, "--no-tpm", "--tpm-state", dir}, "--no-tpm excludes --tpm-state and --no-mux"},
		{[]string{"--kernel", k, "--no-tpm", "--no-mux"}, "--no-tpm excludes --tpm-state and --no-mux"},
		{[]string{"--kernel", k, "--disk", filepath.Join(dir, "missing.img")}, "missing.img: no such file or directory"},
		{[]string{"--kernel", k, "--initrd", filepath.Join(dir, "missing.cpio")}, "missing.cpio: no such file or directory"},
		{[]string{"--kernel", filepath.Join(dir, "nokernel")}, "nokernel: no such file or directory"},
		{[]string{"--kernel", k, "extra"}, "takes no arguments"},
		{[]string{"--esp", k}, "--esp needs --ovmf"},
		{[]string{"--ovmf", "--esp", k, "--kernel", k}, "--esp boots the UKI's own kernel"},
		{[]string{"--ovmf", "--setup-mode", "--kernel", k}, "--setup-mode needs --secure-boot"},
		{[]string{"--ovmf", "--esp", filepath.Join(dir, "missing.efi")}, "missing.efi: no such file or directory"},
		{[]string{"--kernel", k, "--initrd", ""}, "--initrd"},
	} {
		r := runRig(append([]string{"run"}, c.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("rig run %v: exit %d, stderr %q; want 1 and one line with %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestRigRunResults boots the rig's test guest through `slkit-rig run` and
// checks the exit code for each way a guest can end.
func TestRigRunResults(t *testing.T) {
	k := qemutest.RequireRig(t)
	guest := qemutest.TestGuest(t)
	run := func(actions string, extra ...string) result {
		args := append([]string{"run", "--kernel", k.Path, "--initrd", guest,
			"--append", qemu.DefaultAppend + " testguest=" + actions}, extra...)
		return runRig(append(args, "--timeout", "2m")...)
	}

	t.Run("ok", func(t *testing.T) {
		r := run("pcr17,ok", "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s; report %s", r.code, r.stderr, r.stdout)
		}
		var rep struct {
			Result struct{ Reported, OK bool }
			Phases []struct {
				Name  string
				Start int64 `json:"start_ns"`
			}
			Accel string
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		var names []string
		for _, p := range rep.Phases {
			names = append(names, p.Name)
		}
		if !rep.Result.Reported || !rep.Result.OK || strings.Join(names, ",") != "firmware,kernel,init" || rep.Accel == "" {
			t.Fatalf("report %+v (phases %v)", rep, names)
		}
		if !(rep.Phases[0].Start == 0 && rep.Phases[1].Start > 0 && rep.Phases[2].Start > rep.Phases[1].Start) {
			t.Fatalf("phase starts %+v", rep.Phases)
		}
	})

	t.Run("fail", func(t *testing.T) {
		r := run("fail")
		if r.code != 3 {
			t.Fatalf("exit %d, want 3: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "slkit: result=fail reason=the test guest was asked to fail") {
			t.Fatalf("console not streamed to stdout: %q", r.stdout)
		}
		for _, want := range []string{"phase firmware", "phase kernel (start estimated", "phase init", "reported failure: the test guest was asked to fail"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})

	// With the mux the guest's host channel runs the DRTM vector; without
	// it (--no-mux) there is no emulated DCE to ask, and the guest says so.
	t.Run("no mux", func(t *testing.T) {
		r := run("hostchan,ok", "--no-mux")
		if !strings.Contains(r.stdout, "TESTGUEST error hostchan: host channel: /dev/ttyS1 is not a usable serial port") || strings.Contains(r.stdout, "fca5d649") {
			t.Fatalf("exit %d, want the guest's host channel to be missing: %s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("no result", func(t *testing.T) {
		r := run("pcr17", "--quiet-console")
		if r.code != 2 || !strings.Contains(r.stderr, "without reporting a result") || strings.Contains(r.stdout, "TESTGUEST") ||
			!strings.Contains(r.stderr, "did not finish") {
			t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		keep := t.TempDir()
		r := runRig("run", "--kernel", k.Path, "--initrd", guest, "--timeout", "1s", "--dir", keep, "--quiet-console")
		if r.code != 2 || !strings.Contains(r.stderr, "timed out") {
			t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(keep, "console.log")); err != nil {
			t.Fatalf("--dir: %v", err)
		}
	})
}
