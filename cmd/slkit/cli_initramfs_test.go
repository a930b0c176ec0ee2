package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/launch/policy"
)

// initramfsFiles are the inputs of a pre-launch image: a fake static
// slkit (only its ELF magic is checked), a kernel and a signed policy.
type initramfsFiles struct {
	dir, slkit, kernel, policy, pub string
}

func writeInitramfsFiles(t *testing.T) *initramfsFiles {
	t.Helper()
	f := &initramfsFiles{dir: t.TempDir()}
	w := func(name string, b []byte) string {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.slkit = w("slkit", []byte("\x7fELF fake slkit"))
	f.kernel = w("vmlinuz", []byte("kernel"))
	pub, priv, _ := ed25519.GenerateKey(nil)
	doc := `{"version": 1, "entries": [{"name": "default", "kernel": {"path": "/boot/vmlinuz", "sha256": "` +
		sha256Hex([]byte("kernel")) + `"}, "cmdline": "console=ttyS0", "profile": "measured-v1"}]}`
	signed, err := policy.Sign([]byte(doc), priv)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := policy.MarshalPublicKey(pub)
	f.policy, f.pub = w("policy.signed", signed), w("policy.pub", pb)
	return f
}

func TestInitramfsBuildCLI(t *testing.T) {
	f := writeInitramfsFiles(t)
	out := filepath.Join(t.TempDir(), "pre.cpio")
	r := runSlkit(t, nil, "initramfs", "build", "-o", out, "--slkit-binary", f.slkit,
		"--policy", f.policy, "--policy-key", f.pub, "--add", f.kernel+":/boot/vmlinuz")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(img)
	pcr := sha256.Sum256(append(make([]byte, 32), d[:]...))
	for _, want := range []string{"sha256 " + hex.EncodeToString(d[:]) + "\n", "pcr9  " + hex.EncodeToString(pcr[:]) + "\n", "PCR 9, EV_IPL"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	r = runSlkit(t, nil, "initramfs", "build", "-o", out, "--slkit-binary", f.slkit, "--run", "pcr read 8 9", "--json",
		"--then", "unseal /s --pcrs 8,9", "--then", "pcr read 17")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Result struct {
			Size        int64 `json:"size"`
			Measurement struct {
				PCR   int `json:"pcr"`
				Banks map[string]struct {
					Event    string `json:"event_digest"`
					FromZero string `json:"pcr_from_zero"`
				} `json:"banks"`
			} `json:"measurement"`
			Config struct {
				Run  []string   `json:"run"`
				Then [][]string `json:"then"`
			} `json:"config"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	img, _ = os.ReadFile(out)
	d = sha256.Sum256(img)
	pcr = sha256.Sum256(append(make([]byte, 32), d[:]...))
	b := rep.Result.Measurement.Banks["sha256"]
	if rep.Result.Size != int64(len(img)) || rep.Result.Measurement.PCR != 9 || b.Event != hex.EncodeToString(d[:]) ||
		b.FromZero != hex.EncodeToString(pcr[:]) || len(rep.Result.Measurement.Banks) != 4 ||
		strings.Join(rep.Result.Config.Run, " ") != "pcr read 8 9" ||
		fmt.Sprint(rep.Result.Config.Then) != "[[unseal /s --pcrs 8,9] [pcr read 17]]" {
		t.Errorf("--json report %+v", rep)
	}
}

func TestInitramfsBuildCLIBadInput(t *testing.T) {
	f := writeInitramfsFiles(t)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.cpio")
	base := []string{"initramfs", "build", "-o", out, "--slkit-binary", f.slkit, "--policy", f.policy, "--policy-key", f.pub}
	for name, c := range map[string]struct {
		args []string
		msg  string
	}{
		"missing source":   {[]string{"--add", filepath.Join(f.dir, "nope") + ":/boot/x"}, "nope: no such file or directory"},
		"relative DST":     {[]string{"--add", f.kernel + ":boot/vmlinuz"}, `destination "boot/vmlinuz" is not absolute`},
		"duplicate DST":    {[]string{"--add", f.kernel + ":/boot/vmlinuz", "--add", f.slkit + ":/boot/vmlinuz"}, "already taken"},
		"no colon":         {[]string{"--add", f.kernel}, "want SRC:DST"},
		"policy missing":   {[]string{"--policy", filepath.Join(f.dir, "nope.signed")}, "nope.signed: no such file or directory"},
		"policy is a dir":  {[]string{"--policy", f.dir}, "is a directory"},
		"policy wrong key": {[]string{"--policy-key", f.slkit}, "policy key"},
		"on-failure":       {[]string{"--on-failure", "shell"}, "want poweroff or reboot"},
		"empty run":        {[]string{"--run", " "}, "--run is empty"},
		"empty then":       {[]string{"--then", ""}, "--then is empty"},
		"no output":        {[]string{"-o", ""}, ""},
	} {
		r := runSlkit(t, nil, append(append([]string(nil), base...), c.args...)...)
		if r.code != 1 {
			t.Errorf("%s: exit %d, want 1 (stderr %q)", name, r.code, r.stderr)
			continue
		}
		if lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], c.msg) {
			t.Errorf("%s: stderr %q, want one line containing %q", name, r.stderr, c.msg)
		}
	}
	noFiles, _ := os.ReadDir(outDir)
	if len(noFiles) != 0 {
		t.Errorf("output directory holds %v after failed builds", noFiles)
	}
}

func TestInitMode(t *testing.T) {
	for _, c := range []struct {
		pid  int
		args []string
		want bool
	}{
		{1, []string{"/init"}, true},
		{1, []string{"/init", "nokaslr"}, true},
		{1, []string{"slkit", "launch"}, true},
		{345, []string{"/init"}, true},
		{345, []string{"slkit", "init"}, false},
		{345, []string{"slkit", "launch", "--policy", "/init"}, false},
	} {
		if got := initMode(c.pid, c.args); got != c.want {
			t.Errorf("initMode(%d, %q) = %v, want %v", c.pid, c.args, got, c.want)
		}
	}
}

func TestInitRefusedOutsideInitramfs(t *testing.T) {
	if os.Getppid() == 1 {
		t.Skip("the test runs as a child of PID 1")
	}
	r := runSlkit(t, nil, "init")
	if r.code != 1 || !strings.Contains(r.stderr, "runs only as PID 1") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

// TestInitramfsBuildJobsCLI: --job, --job-on-success, --job-request,
// --on-success and a "! ARGS" step land in the image's init configuration;
// bad job flags are usage errors and write nothing.
func TestInitramfsBuildJobsCLI(t *testing.T) {
	f := writeInitramfsFiles(t)
	out := filepath.Join(t.TempDir(), "target.cpio")
	r := runSlkit(t, nil, "initramfs", "build", "-o", out, "--slkit-binary", f.slkit, "--run", "efi mount --device /dev/nvme0n1 --dir /run/disk",
		"--then", "! unseal /run/disk/other.sealed", "--on-success", "poweroff", "--job-request", "/run/disk/jobs",
		"--job", "update:efi queue set X --hex 01", "--job", "update: drtm leave", "--job-on-success", "update:reboot",
		"--job", "other:pcr read 17", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Result struct {
			Config struct {
				Then       [][]string `json:"then"`
				OnSuccess  string     `json:"on_success"`
				JobRequest string     `json:"job_request"`
				Jobs       map[string]struct {
					Steps     [][]string `json:"steps"`
					OnSuccess string     `json:"on_success"`
				} `json:"jobs"`
			} `json:"config"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	c := rep.Result.Config
	if fmt.Sprint(c.Then) != "[[! unseal /run/disk/other.sealed]]" || c.OnSuccess != "poweroff" || c.JobRequest != "/run/disk/jobs" ||
		fmt.Sprint(c.Jobs["update"].Steps) != "[[efi queue set X --hex 01] [drtm leave]]" || c.Jobs["update"].OnSuccess != "reboot" ||
		fmt.Sprint(c.Jobs["other"].Steps) != "[[pcr read 17]]" || c.Jobs["other"].OnSuccess != "" || len(c.Jobs) != 2 {
		t.Errorf("config %+v", c)
	}
	bad := filepath.Join(t.TempDir(), "bad.cpio")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--job", "nocolon"}, `--job "nocolon": want NAME:ARGS`},
		{[]string{"--job", "a:x", "--job-on-success", "a:halt"}, `--job-on-success "a:halt"`},
		{[]string{"--job", "a:x"}, "jobs without a job_request file"},
		{[]string{"--job", "A B:x", "--job-request", "/j"}, `job name "A B"`},
		{[]string{"--on-success", "shell"}, `--on-success "shell"`},
		{[]string{"--then", "!"}, "empty command"},
	} {
		r := runSlkit(t, nil, append([]string{"initramfs", "build", "-o", bad, "--slkit-binary", f.slkit, "--run", "pcr read"}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %d %q, want exit 1 with %q", tc.args, r.code, r.stderr, tc.want)
		}
		if _, err := os.Stat(bad); err == nil {
			t.Fatalf("%v: an image was written", tc.args)
		}
	}
}
