package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
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
	want := "menuentry 'Secure Launch' {\n\tslaunch\n\tslaunch_module " + skl + "\n\tlinux " + kernel + " root=/dev/vda1 quiet\n}\n"
	if got := string(mustRead(t, out)); got != want || r.stdout != want {
		t.Fatalf("menu entry:\n%s\nwant:\n%s", got, want)
	}
	// --grub-root maps the local paths to GRUB's.
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", kernel, "--dce", skl, "--grub-root", dir,
		"--cmdline", "quiet", "--out", out, "--unrestricted")
	want = "menuentry 'slkit secure launch' --unrestricted {\n\tslaunch\n\tslaunch_module /skl.bin\n\tlinux /vmlinuz quiet\n}\n"
	if r.code != 0 || string(mustRead(t, out)) != want {
		t.Fatalf("--grub-root: %d %s\n%s", r.code, r.stderr, mustRead(t, out))
	}
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", kernel, "--dce", skl, "--grub-root", "/nonexistent-root", "--out", out)
	if r.code != 1 || !strings.Contains(r.stderr, "is not below the GRUB root /nonexistent-root") {
		t.Fatalf("--grub-root outside: %d %s", r.code, r.stderr)
	}
	plain := writeDRTMFile(t, dir, "plain", slaunchtest.Kernel(0x020F, 0x10, 0))
	r = runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", plain, "--dce", skl, "--out", out+".2")
	if r.code != 1 || !strings.Contains(r.stderr, plain+": kernel has no MLE header: kernel_info has no mle_header_offset") {
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
		{[]string{"--backend", "emulated", "--kernel", notKernel, "--out", dir}, 1, notKernel + `: kernel: at byte offset 0x202: no "HdrS" boot header`},
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

func sha256Ext(old []byte, data []byte) []byte {
	d := sha256.Sum256(data)
	s := sha256.Sum256(append(append([]byte(nil), old...), d[:]...))
	return s[:]
}

// TestPredictDRTMEmulatedCLI: `predict --drtm emulated --json` gives PCR 8
// and 9 of the measured profile and PCR 17 and 18 of the emulated DRTM,
// each equal to an independent computation from the bytes the profile
// names, with the events of both logs.
func TestPredictDRTMEmulatedCLI(t *testing.T) {
	dir := t.TempDir()
	kb := append(slaunchtest.Kernel(0x020F, 0x10, 0), "appended bytes"...)
	ib := []byte(strings.Repeat("initramfs ", 100))
	kernel := writeDRTMFile(t, dir, "vmlinuz", kb)
	initrd := writeDRTMFile(t, dir, "initrd", ib)
	const cmdline = "console=ttyS0 quiet"
	r := runSlkit(t, nil, "predict", "--drtm", "emulated", "--json", "--kernel", kernel, "--initrd", initrd, "--cmdline", cmdline)
	if r.code != 0 {
		t.Fatalf("predict: %d %s", r.code, r.stderr)
	}
	var x tpm.Expected
	if err := json.Unmarshal([]byte(r.stdout), &x); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 32)
	entry := make([]byte, 4)
	binary.LittleEndian.PutUint32(entry, (1+1)*512+0x200) // (setup_sects+1)*512 + 0x200: startup_64
	want := map[int][]byte{
		8:  sha256Ext(zero, []byte(cmdline)),
		9:  sha256Ext(sha256Ext(zero, kb), ib),
		17: sha256Ext(sha256Ext(sha256Ext(zero, slaunchtest.EmulatedDCEBlob()), entry), kb),
		18: sha256Ext(sha256Ext(sha256Ext(zero, slaunchtest.EmulatedAMDInfoMeasured()), []byte(cmdline)), ib),
	}
	for i, w := range want {
		if g, _ := x.Get(tpm.SHA256, i); !g.Equal(w) {
			t.Errorf("sha256 PCR %d = %s, want %x", i, g, w)
		}
	}
	if len(x.Banks) != 4 {
		t.Errorf("%d banks, want the default 4", len(x.Banks))
	}
	var evs []string
	for _, e := range x.Events {
		evs = append(evs, fmt.Sprintf("%d/%d/%s/%s", e.Index, e.PCR, e.Type, e.Description()))
	}
	if got := strings.Join(evs, " "); got != "1/9/EV_IPL/kernel 2/9/EV_IPL/initrd 3/8/EV_IPL/cmdline "+
		"1/17/EV_SLAUNCH/SKINIT 2/17/EV_SLAUNCH/DLME entry offset 3/17/EV_SLAUNCH/DLME "+
		"4/18/EV_SLAUNCH/Measured SLR Table 5/18/EV_SLAUNCH/Measured Kernel command line 6/18/EV_SLAUNCH/Measured Kernel initrd" {
		t.Errorf("events: %s", got)
	}
	// Without --drtm the output has no PCR 17/18; text output names both parts.
	r = runSlkit(t, nil, "predict", "--json", "--kernel", kernel, "--cmdline", cmdline)
	var plain tpm.Expected
	json.Unmarshal([]byte(r.stdout), &plain)
	if _, ok := plain.Get(tpm.SHA256, 17); ok || r.code != 0 {
		t.Errorf("predict without --drtm: %d %s", r.code, r.stdout)
	}
	r = runSlkit(t, nil, "predict", "--drtm", "emulated", "--bank", "sha256", "--kernel", kernel, "--cmdline", cmdline)
	if r.code != 0 || !strings.Contains(r.stdout, "profile measured-v1 + DRTM emulated") || !strings.Contains(r.stdout, "PCR 17") {
		t.Errorf("text: %d %s", r.code, r.stdout)
	}
	notKernel := writeDRTMFile(t, dir, "text", []byte(strings.Repeat("not a kernel\n", 100)))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--drtm", "hardware", "--kernel", kernel, "--cmdline", ""}, `--drtm "hardware": want emulated`},
		{[]string{"--drtm", "emulated", "--kernel", notKernel, "--cmdline", ""}, notKernel + `: kernel: at byte offset 0x202: no "HdrS" boot header`},
	} {
		r := runSlkit(t, nil, append([]string{"predict"}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("%v: %d %q, want 1 with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

type drtmLaunchFiles struct {
	dir, root, key, pub, signed string
}

// writeDRTMLaunch writes a bzImage and an initrd under root and a policy
// signed with a new key whose entries are "drtm" (require_drtm) and
// "plain".
func writeDRTMLaunch(t *testing.T) *drtmLaunchFiles {
	t.Helper()
	f := &drtmLaunchFiles{dir: t.TempDir()}
	f.root = filepath.Join(f.dir, "root")
	os.MkdirAll(filepath.Join(f.root, "boot"), 0o755)
	kb := append(slaunchtest.Kernel(0x020F, 0x10, 0), strings.Repeat("k", 5000)...)
	ib := []byte(strings.Repeat("initrd ", 300))
	writeDRTMFile(t, filepath.Join(f.root, "boot"), "vmlinuz", kb)
	writeDRTMFile(t, filepath.Join(f.root, "boot"), "initrd.img", ib)
	entry := func(name string, require bool) string {
		return fmt.Sprintf(`{"name": %q, "kernel": {"path": "/boot/vmlinuz", "sha256": %q},
  "initrd": {"path": "/boot/initrd.img", "sha256": %q}, "cmdline": "console=ttyS0", "profile": "measured-v1", "require_drtm": %v}`,
			name, sha256Hex(kb), sha256Hex(ib), require)
	}
	doc := writeDRTMFile(t, f.dir, "policy.json", []byte(`{"version": 1, "entries": [`+entry("drtm", true)+", "+entry("plain", false)+"]}"))
	f.key, f.pub, f.signed = filepath.Join(f.dir, "key.pem"), filepath.Join(f.dir, "key.pem.pub"), filepath.Join(f.dir, "signed.json")
	for _, args := range [][]string{{"policy", "keygen", "--out", f.key}, {"policy", "sign", "--key", f.key, "--in", doc, "--out", f.signed}} {
		if r := runSlkit(t, nil, args...); r.code != 0 {
			t.Fatalf("%v: %d %s", args, r.code, r.stderr)
		}
	}
	return f
}

func (f *drtmLaunchFiles) launch(t *testing.T, tt *tpmtest.TPM, log string, args ...string) cliResult {
	t.Helper()
	return runSlkit(t, tt, append([]string{"launch", "--policy", f.signed, "--policy-key", f.pub, "--root", f.root,
		"--dry-run", "--log", log}, args...)...)
}

// TestLaunchDRTMEmulatedCLI: `slkit launch --drtm emulated` over a host
// channel socket (a host answering as the rig's Mux does) on swtpm; the
// DRTM log it keeps next to the pre-launch log verifies with `drtm
// verify`, which refuses the same log of another kernel, and says DRTM
// did not happen on a TPM that saw no launch.
func TestLaunchDRTMEmulatedCLI(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tt := tpmtest.RequireSwtpm(t)
	f := writeDRTMLaunch(t)

	// Before the launch: exit 3, with the reason.
	r := runSlkit(t, tt, "drtm", "verify", "--log", filepath.Join(f.dir, "none.bin"))
	if r.code != 3 || !strings.Contains(r.stderr, "DRTM did not happen: PCR 17 (sha1) is still all 0xFF") ||
		!strings.Contains(r.stderr, "none.bin does not exist") || !strings.HasPrefix(r.stdout, "DRTM did not happen\n") {
		t.Fatalf("verify before a launch: %d %q %q", r.code, r.stdout, r.stderr)
	}

	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(f.dir, "host.sock")
	h := &slaunchtest.Host{TPM: ctl}
	h.Listen(t, sock)
	log := filepath.Join(f.dir, "run", "prelaunch.bin")
	r = f.launch(t, tt, log, "--drtm", "emulated", "--host-channel", sock)
	if r.code != 0 || !strings.Contains(r.stdout, "DRTM happened and verified") || !strings.Contains(r.stderr, "phase=drtm") {
		t.Fatalf("launch --drtm emulated: %d %s %s", r.code, r.stdout, r.stderr)
	}
	drtmLog := filepath.Join(f.dir, "run", "drtm-eventlog.bin")
	r = runSlkit(t, tt, "drtm", "verify", "--log", drtmLog)
	if r.code != 0 || !strings.Contains(r.stdout, "DRTM happened") || strings.Count(r.stdout, "log matches") != 4 {
		t.Fatalf("drtm verify: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runSlkit(t, tt, "drtm", "verify", "--json", "--log", drtmLog)
	var rep slaunch.DRTMReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 || !rep.OK || len(rep.Banks) != 4 || !rep.Banks[1].Match {
		t.Fatalf("drtm verify --json: %d %v %s", r.code, err, r.stdout)
	}
	// The log of a launch of another kernel does not verify against this TPM.
	other := writeDRTMFile(t, f.dir, "other-kernel", append(slaunchtest.Kernel(0x020F, 0x10, 0), "other"...))
	st, err := slaunch.StageEmulated(slaunch.Images{Kernel: bytes.NewReader(mustRead(t, other)), KernelSize: int64(len(mustRead(t, other))),
		Cmdline: "console=ttyS0"}, []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := st.Prediction.Log(slaunch.EmuLogBase, slaunch.EmuLogSize)
	lb, _ := l.MarshalBinary()
	r = runSlkit(t, tt, "drtm", "verify", "--log", writeDRTMFile(t, f.dir, "other.bin", lb))
	if r.code != 3 || !strings.Contains(r.stderr, "DRTM did not happen: the DRTM log does not replay to the TPM: sha1 PCR 17") ||
		strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stdout, "log gives PCR17") {
		t.Fatalf("verify another kernel's log: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runSlkit(t, tt, "drtm", "verify", "--log", writeDRTMFile(t, f.dir, "garbage.bin", []byte("garbage")))
	if r.code != 1 || !strings.Contains(r.stderr, "garbage.bin: ") {
		t.Fatalf("verify a malformed log: %d %s", r.code, r.stderr)
	}
}

// listenNoDCE serves a rig host channel without DCE emulation (it refuses
// tpm-hash, as the rig does without its mux) on a socket in dir.
func listenNoDCE(t *testing.T, tt *tpmtest.TPM, dir string) string {
	t.Helper()
	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "nodce.sock")
	(&slaunchtest.Host{TPM: ctl, RefuseHash: true}).Listen(t, p)
	return p
}

// TestLaunchDRTMFallbackCLI: an entry without require_drtm whose DRTM did
// not happen is launched as a measured launch, with a warning saying why,
// and without a DRTM log.
func TestLaunchDRTMFallbackCLI(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tt := tpmtest.RequireSwtpm(t)
	f := writeDRTMLaunch(t)
	noDCE := listenNoDCE(t, tt, f.dir)
	log := filepath.Join(t.TempDir(), "prelaunch.bin")
	r := f.launch(t, tt, log, "--entry", "plain", "--drtm", "emulated", "--host-channel", noDCE)
	if r.code != 0 || !strings.Contains(r.stdout, "would kexec") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want a (dry-run) launch", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, `slkit: warning: entry "plain": DRTM did not happen`) || !strings.Contains(r.stderr, "launching it as a measured launch") {
		t.Errorf("stderr lacks the fallback warning:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(log), "drtm-eventlog.bin")); err == nil {
		t.Error("a DRTM log was kept for a launch whose DRTM did not happen")
	}
}

// TestLaunchDRTMRefusedCLI: an entry that requires DRTM is refused (exit
// 3, one line saying DRTM did not happen) without a backend, without a
// host channel, with a host that has no DCE emulation, and on hardware;
// bad DRTM flags are usage errors.
func TestLaunchDRTMRefusedCLI(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tt := tpmtest.RequireSwtpm(t)
	f := writeDRTMLaunch(t)
	noDCE := listenNoDCE(t, tt, f.dir)
	acm := writeDRTMFile(t, f.dir, "sinit.bin", slaunchtest.ACM(slaunchtest.DefaultACM()))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no backend", nil, 3, []string{`entry "drtm" requires DRTM and no DRTM backend was given`}},
		{"no host channel", []string{"--drtm", "emulated", "--host-channel", filepath.Join(f.dir, "missing")}, 3,
			[]string{"DRTM did not happen", "no host channel to the emulated DCE at " + filepath.Join(f.dir, "missing")}},
		{"host without DCE emulation", []string{"--drtm", "emulated", "--host-channel", noDCE}, 3,
			[]string{"DRTM did not happen: the rig host did not run the _TPM_Hash sequence", `no handler for "tpm-hash"`}},
		{"hardware, not capable", []string{"--drtm", "hardware", "--dce", acm, "--platform", drtmPlatformFile("not-capable")}, 3,
			[]string{"DRTM did not happen", "platform is not capable of a dynamic launch"}},
		{"hardware without --dce", []string{"--drtm", "hardware"}, 1, []string{"--dce is required"}},
		{"--dce without hardware", []string{"--drtm", "emulated", "--dce", acm}, 1, []string{"--dce needs --drtm hardware"}},
		{"unknown backend", []string{"--drtm", "teleport"}, 1, []string{`--drtm "teleport": want emulated or hardware`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "prelaunch.bin")
			r := f.launch(t, tt, log, tc.args...)
			if r.code != tc.code || strings.Contains(r.stdout, "would kexec") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d", r.code, r.stdout, r.stderr, tc.code)
			}
			last := lastLine(r.stderr)
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("error line %q lacks %q", last, w)
				}
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(log), "drtm-eventlog.bin")); err == nil {
				t.Error("a DRTM log was kept for a launch that did not happen")
			}
		})
	}
}
