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
		18: sha256Ext(sha256Ext(sha256Ext(zero, slaunchtest.EmulatedMeasuredAMDInfo()), []byte(cmdline)), ib),
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
		{[]string{"--drtm", "emulated", "--kernel", notKernel, "--cmdline", ""}, "--kernel " + notKernel + `: at byte offset 0x202: no "HdrS" boot header`},
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
