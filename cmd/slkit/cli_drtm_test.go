package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

func drtmPlatformFile(name string) string {
	return filepath.Join("..", "..", "slaunch", "testdata", "platforms", name+".json")
}

func writeDRTMFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDRTMStatus(t *testing.T) {
	r := runSlkit(t, nil, "drtm", "status", "--platform", drtmPlatformFile("not-capable"))
	if r.code != 0 {
		t.Fatalf("not capable must exit 0: %d %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"Intel TXT: not capable\n",
		`  - CPU is not an Intel CPU (vendor "AuthenticAMD"): TXT needs Intel SMX` + "\n",
		"AMD SKINIT: not capable\n",
		"  - CPU has no SVM (CPUID 0x80000001:ECX[2] = 0)\n",
		"  - no TPM 2.0 (the kernel has no TPM device)\n",
		"CPU: AuthenticAMD, signature 0xb00f21; TPM: no TPM device\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runSlkit(t, nil, "drtm", "status", "--json", "--platform", drtmPlatformFile("txt-ready"))
	var s slaunch.Status
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || r.code != 0 {
		t.Fatalf("--json: %v %d %s", err, r.code, r.stdout)
	}
	if s.TXT.Verdict != slaunch.Ready || s.SKINIT.Verdict != slaunch.NotCapable || s.TXTRegs == nil || s.TXTRegs.Ver != 0x80000000 {
		t.Fatalf("txt-ready: %+v", s)
	}
}

// TestDRTMStatusThisMachine: the real probe on this machine exits 0 with a
// verdict for both architectures, and --save writes a recording that
// replays to the same report.
func TestDRTMStatusThisMachine(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "here.json")
	r := runSlkit(t, nil, "drtm", "status", "--save", saved)
	if r.code != 0 || !strings.Contains(r.stdout, "Intel TXT: ") || !strings.Contains(r.stdout, "AMD SKINIT: ") {
		t.Fatalf("drtm status here: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	again := runSlkit(t, nil, "drtm", "status", "--platform", saved)
	if again.code != 0 || again.stdout != r.stdout {
		t.Fatalf("the saved recording reports differently:\n%s\nvs\n%s", again.stdout, r.stdout)
	}
	t.Logf("this machine:\n%s", r.stdout)
}

func TestDRTMStageEmulated(t *testing.T) {
	dir := t.TempDir()
	kernel := writeDRTMFile(t, dir, "vmlinuz", slaunchtest.Kernel(0x020F, 0x10, 0))
	initrd := writeDRTMFile(t, dir, "initrd", []byte("initramfs"))
	out := filepath.Join(dir, "stage")
	r := runSlkit(t, nil, "drtm", "stage", "--backend", "emulated", "--kernel", kernel, "--initrd", initrd,
		"--cmdline", "console=ttyS0", "--out", out, "--bank", "sha256")
	if r.code != 0 {
		t.Fatalf("stage: %d %s", r.code, r.stderr)
	}
	blob, err := os.ReadFile(filepath.Join(out, "dce-blob.bin"))
	if err != nil || len(blob) != 0x100 || string(blob[0x20:0x35]) != "slkit emulated DCE v1" {
		t.Fatalf("dce-blob.bin: %v %d", err, len(blob))
	}
	if slb, _ := os.ReadFile(filepath.Join(out, "slb.bin")); len(slb) != 0x10000 {
		t.Errorf("slb.bin is %d bytes", len(slb))
	}
	var x tpm.Expected
	b, _ := os.ReadFile(filepath.Join(out, "expected.json"))
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatalf("expected.json: %v", err)
	}
	p17, ok17 := x.Get(tpm.SHA256, 17)
	_, ok18 := x.Get(tpm.SHA256, 18)
	if !ok17 || !ok18 || len(x.Events) != 6 || x.Events[0].Description() != "SKINIT" {
		t.Fatalf("expected.json: %s", b)
	}
	if !strings.Contains(r.stdout, "sha256 PCR17 "+p17.String()) {
		t.Errorf("output does not show PCR17:\n%s", r.stdout)
	}
	logb, _ := os.ReadFile(filepath.Join(out, "drtm-log-prefix.bin"))
	if l, err := tpm.ParseEventLog(logb); err != nil || len(l.Events) != 3 {
		t.Fatalf("drtm-log-prefix.bin: %v", err)
	}
	if _, err := slaunch.ParseSLRT(mustRead(t, filepath.Join(out, "slrt.bin"))); err != nil {
		t.Errorf("slrt.bin: %v", err)
	}
	// Staging again replaces the set; nothing else is left next to it.
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "emulated", "--kernel", kernel, "--cmdline", "quiet", "--out", out, "--bank", "sha256")
	if r.code != 0 {
		t.Fatalf("stage again: %d %s", r.code, r.stderr)
	}
	if x2 := mustRead(t, filepath.Join(out, "expected.json")); string(x2) == string(b) {
		t.Errorf("expected.json was not replaced")
	}
	var names []string
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "initrd stage vmlinuz" {
		t.Errorf("next to the stage: %v, want only the inputs and the stage", names)
	}
	// A directory with other files is never replaced.
	other := filepath.Join(dir, "other")
	os.MkdirAll(other, 0o755)
	writeDRTMFile(t, other, "precious.txt", []byte("keep me"))
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "emulated", "--kernel", kernel, "--out", other)
	if r.code != 1 || !strings.Contains(r.stderr, "holds precious.txt, which a stage does not write") {
		t.Fatalf("a foreign directory: %d %s", r.code, r.stderr)
	}
	if string(mustRead(t, filepath.Join(other, "precious.txt"))) != "keep me" {
		t.Fatalf("precious.txt was touched")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDRTMStageGRUB(t *testing.T) {
	dir := t.TempDir()
	kernel := writeDRTMFile(t, dir, "vmlinuz", slaunchtest.Kernel(0x020F, 0x14, 0x200))
	skl := writeDRTMFile(t, dir, "skl.bin", slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000))
	out := filepath.Join(dir, "40_slkit")
	r := runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", kernel, "--dce", skl,
		"--cmdline", "root=/dev/vda1 quiet", "--title", "Secure Launch", "--out", out)
	if r.code != 0 {
		t.Fatalf("grub: %d %s", r.code, r.stderr)
	}
	v15 := "# slkit: vmlinuz: Secure Launch v15 kernel (boot protocol 2.15): static MLE header at file offset 0x600 (kernel_info.mle_header_offset 0x200), version 0x20002, capabilities 0x227, entry 0x300\n" +
		"# the loader finds the header through kernel_info, as TrenchBoot GRUB grub-sl-2.12-v11 does (slaunch, slaunch_module)\n"
	want := v15 + "menuentry 'Secure Launch' {\n\tslaunch\n\tslaunch_module " + skl + "\n\tlinux " + kernel + " root=/dev/vda1 quiet\n}\n"
	if got := string(mustRead(t, out)); got != want || r.stdout != want {
		t.Fatalf("menu entry:\n%s\nwant:\n%s", got, want)
	}
	grubScriptCheck(t, out)
	// --grub-root maps the local paths to GRUB's.
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", kernel, "--dce", skl, "--grub-root", dir,
		"--cmdline", "quiet", "--out", out, "--unrestricted")
	want = v15 + "menuentry 'slkit secure launch' --unrestricted {\n\tslaunch\n\tslaunch_module /skl.bin\n\tlinux /vmlinuz quiet\n}\n"
	if r.code != 0 || string(mustRead(t, out)) != want {
		t.Fatalf("--grub-root: %d %s\n%s", r.code, r.stderr, mustRead(t, out))
	}
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", kernel, "--dce", skl, "--grub-root", "/nonexistent-root", "--out", out)
	if r.code != 1 || !strings.Contains(r.stderr, "is not below the GRUB root /nonexistent-root") {
		t.Fatalf("--grub-root outside: %d %s", r.code, r.stderr)
	}
	plain := writeDRTMFile(t, dir, "plain", slaunchtest.Kernel(0x020F, 0x10, 0))
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", plain, "--dce", skl, "--out", out+".2")
	if r.code != 1 || !strings.Contains(r.stderr, plain+": kernel has no MLE header: kernel_info has no mle_header_offset") ||
		!strings.Contains(r.stderr, "and no SLAUNCH_FLAG in loadflags (0x00), which a Secure Launch v16 kernel sets") {
		t.Fatalf("kernel without MLE header: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(out + ".2"); err == nil {
		t.Errorf("a refused entry was written")
	}
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", kernel, "--dce", kernel, "--out", out)
	if r.code != 1 || !strings.Contains(r.stderr, "neither a SINIT ACM") {
		t.Fatalf("a kernel as DCE: %d %s", r.code, r.stderr)
	}
}

func TestDRTMStageHardware(t *testing.T) {
	dir := t.TempDir()
	kernel := writeDRTMFile(t, dir, "vmlinuz", slaunchtest.Kernel(0x020F, 0x14, 0x200))
	acm := writeDRTMFile(t, dir, "sinit.bin", slaunchtest.ACM(slaunchtest.DefaultACM()))
	r := runSlkit(t, nil, "drtm", "stage", "--backend", "hardware", "--platform", drtmPlatformFile("txt-ready"),
		"--kernel", kernel, "--dce", acm)
	if r.code != 3 || !strings.Contains(r.stderr, "a ring-0 dynamic-launch stub is required") ||
		!strings.Contains(r.stderr, "slkit drtm stage --backend grub") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("hardware: %d %q", r.code, r.stderr)
	}
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "hardware", "--platform", drtmPlatformFile("not-capable"),
		"--kernel", kernel, "--dce", acm)
	if r.code != 3 || !strings.Contains(r.stderr, "platform is not capable of a dynamic launch") {
		t.Fatalf("not capable: %d %s", r.code, r.stderr)
	}
}

func TestDRTMStageBadInput(t *testing.T) {
	dir := t.TempDir()
	kernel := writeDRTMFile(t, dir, "vmlinuz", slaunchtest.Kernel(0x020F, 0x10, 0))
	notKernel := writeDRTMFile(t, dir, "text", []byte(strings.Repeat("not a kernel\n", 100)))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--backend", "emulated", "--kernel", filepath.Join(dir, "missing"), "--out", dir}, 1, "missing: no such file or directory"},
		{[]string{"--backend", "emulated", "--kernel", notKernel, "--out", dir}, 1, "--kernel " + notKernel + `: at byte offset 0x202: no "HdrS" boot header`},
		{[]string{"--backend", "emulated", "--kernel", kernel}, 1, "--out is required"},
		{[]string{"--backend", "teleport", "--kernel", kernel}, 1, `--backend "teleport": want emulated, grub or hardware`},
		{[]string{"--kernel", kernel}, 1, "--backend is required"},
		{[]string{"--backend", "emulated", "--kernel", kernel, "--out", dir, "--bank", "md5"}, 1, "--bank: unknown hash algorithm"},
		{[]string{"--backend", "hardware", "--kernel", kernel, "--dce", kernel, "--platform", notKernel}, 1, notKernel + ": platform recording"},
	} {
		r := runSlkit(t, nil, append([]string{"drtm", "stage"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: %d %q, want %d containing %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// TestDRTMStageDebianKernel stages the emulated launch of the real Debian
// kernel (no MLE header: the emulated profile still works) and refuses it
// for GRUB.
func TestDRTMStageDebianKernel(t *testing.T) {
	cache := os.Getenv("SLKIT_CACHE")
	if cache == "" {
		cache = filepath.Join("..", "..", ".cache")
	}
	kernel := filepath.Join(cache, "kernel", "vmlinuz")
	if _, err := os.Stat(kernel); err != nil {
		if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
			t.Fatalf("Debian kernel required: %v", err)
		}
		t.Skipf("no Debian kernel: %v", err)
	}
	dir := t.TempDir()
	r := runSlkit(t, nil, "drtm", "stage", "--backend", "emulated", "--kernel", kernel, "--cmdline", "console=ttyS0", "--out", dir)
	if r.code != 0 {
		t.Fatalf("emulated: %d %s", r.code, r.stderr)
	}
	skl := writeDRTMFile(t, dir, "skl.bin", slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000))
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", kernel, "--dce", skl, "--out", filepath.Join(dir, "grub.cfg"))
	if r.code != 1 || !strings.Contains(r.stderr, "kernel has no MLE header: kernel_info has no mle_header_offset (its fixed part is 16 bytes") {
		t.Fatalf("grub with the Debian kernel: %d %s", r.code, r.stderr)
	}
}
