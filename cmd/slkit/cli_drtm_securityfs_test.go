package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// securityfsDir writes a Secure Launch kernel's securityfs slaunch
// directory: eventlog is the log in a 64 KiB LOG_INFO buffer (the rest
// zero, as slmodule.c's sl_evtlog_read returns it), txt/ the registers as
// DECLARE_TXT_PUB_READ_U formats them, NUL included.
func securityfsDir(t *testing.T, log []byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "slaunch")
	os.MkdirAll(filepath.Join(dir, "txt"), 0o755)
	buf := make([]byte, 64<<10)
	copy(buf, log)
	writeDRTMFile(t, dir, "eventlog", buf)
	for name, v := range map[string]string{"sts": "0x0000000000000001\n\x00", "ests": "0000\n\x00", "errorcode": "0xc0000001\n\x00",
		"didvid": "0x00000001b0018086\n\x00", "ver_emif": "0x80000000\n\x00", "scratchpad": "000000000000000000\n\x00", "e2sts": "0x0000000000000000\n\x00"} {
		writeDRTMFile(t, filepath.Join(dir, "txt"), name, []byte(v))
	}
	return dir
}

// TestDRTMVerifySecurityFS: after an emulated launch on swtpm, `drtm
// verify` without --log reads the securityfs log buffer (unused space
// included) and reports the TXT registers; a v14 log with start/end
// markers (0x503/0x504, never extended) still verifies and says so; an
// all-zero buffer is one input error (exit 1); --log still wins.
func TestDRTMVerifySecurityFS(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tt := tpmtest.RequireSwtpm(t)
	f := writeDRTMLaunch(t)
	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(f.dir, "host.sock")
	(&slaunchtest.Host{TPM: ctl}).Listen(t, sock)
	if r := f.launch(t, tt, filepath.Join(f.dir, "run", "prelaunch.bin"), "--drtm", "emulated", "--host-channel", sock); r.code != 0 {
		t.Fatalf("launch: %d %s", r.code, r.stderr)
	}
	logb := mustRead(t, filepath.Join(f.dir, "run", "drtm-eventlog.bin"))
	sfs := securityfsDir(t, logb)
	r := runSlkit(t, tt, "drtm", "verify", "--securityfs", sfs)
	for _, want := range []string{
		"DRTM happened: " + filepath.Join(sfs, "eventlog"),
		"log: tpm2.0 crypto-agile, 6 events, a 65536-byte buffer of which " + strconv.Itoa(65536-len(logb)) + " bytes are unused",
		"TXT registers (securityfs): STS 0x1, ESTS 0x0, ERRORCODE 0xc0000001, DIDVID 0x1b0018086, VER.EMIF 0x80000000, SCRATCHPAD 0x0, E2STS 0x0",
		"note: TXT.STS SENTER.DONE",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("drtm verify: %d, stdout lacks %q:\n%s%s", r.code, want, r.stdout, r.stderr)
		}
	}
	r = runSlkit(t, tt, "drtm", "verify", "--json", "--securityfs", sfs)
	var rep struct {
		OK  bool `json:"ok"`
		Log struct {
			Format string `json:"format"`
			Unused int    `json:"unused"`
		} `json:"log"`
		TXT map[string]string `json:"txt_registers"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.OK || rep.Log.Unused != 65536-len(logb) || rep.TXT["errorcode"] != "0xc0000001" {
		t.Errorf("--json: %v %+v\n%s", err, rep, r.stdout)
	}

	// v14: the kernel's events bracketed by START and END markers.
	l, err := tpm.ParseEventLog(logb)
	if err != nil {
		t.Fatal(err)
	}
	marker := func(typ tpm.EventType) tpm.Event {
		ds := tpm.Digests{}
		for _, a := range l.Algs() {
			ds[a], _ = a.Sum([]byte("marker"))
		}
		return tpm.Event{PCR: 17, Type: typ, Digests: ds, Data: []byte{}}
	}
	l.Events = append(append(append(l.Events[:3:3], marker(slaunch.EvSlaunchStart)), l.Events[3:]...), marker(slaunch.EvSlaunchEnd))
	v14, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r = runSlkit(t, tt, "drtm", "verify", "--securityfs", securityfsDir(t, v14))
	if r.code != 0 || !strings.Contains(r.stdout, "2 start/end markers (0x503/0x504) of Secure Launch v14 or earlier: not measurements, not replayed") {
		t.Errorf("v14 markers: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The markers are not ignored by accident: extended, they would not replay.
	l.Events[3].Type, l.Events[len(l.Events)-1].Type = slaunch.EventType, slaunch.EventType
	asEvents, _ := l.MarshalBinary()
	if r = runSlkit(t, tt, "drtm", "verify", "--securityfs", securityfsDir(t, asEvents)); r.code != 3 {
		t.Errorf("markers as 0x502 events must not replay: %d %s", r.code, r.stderr)
	}

	empty := securityfsDir(t, nil)
	r = runSlkit(t, tt, "drtm", "verify", "--securityfs", empty)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, filepath.Join(empty, "eventlog")+": empty DRTM log buffer: the 65536-byte buffer holds only zero bytes") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("empty buffer: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r = runSlkit(t, tt, "drtm", "verify", "--securityfs", empty, "--log", filepath.Join(f.dir, "run", "drtm-eventlog.bin")); r.code != 0 {
		t.Errorf("--log given: %d %s", r.code, r.stderr)
	}
}

// grubScriptCheck runs GRUB's own parser on a generated file.
func grubScriptCheck(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("grub-script-check")
	if err != nil {
		tpmtest.SkipOrFatal(t, err)
	}
	if out, err := exec.Command(bin, path).CombinedOutput(); err != nil {
		t.Errorf("grub-script-check %s: %v\n%s", path, err, out)
	}
}

// TestDRTMStageGRUBV16: a Secure Launch v16 kernel (no static MLE header,
// SLAUNCH_FLAG in loadflags) is accepted by the grub backend, and the
// entry says what the loader does instead; GRUB's parser accepts it.
func TestDRTMStageGRUBV16(t *testing.T) {
	dir := t.TempDir()
	kernel := writeDRTMFile(t, dir, "vmlinuz-v16", slaunchtest.KernelV16())
	acm := writeDRTMFile(t, dir, "sinit.bin", slaunchtest.ACM(slaunchtest.DefaultACM()))
	out := filepath.Join(dir, "41_slkit")
	r := runSlkit(t, nil, "drtm", "stage", "--backend", "grub", "--kernel", kernel, "--dce", acm, "--cmdline", "quiet", "--out", out)
	if r.code != 0 {
		t.Fatalf("grub, v16 kernel: %d %s", r.code, r.stderr)
	}
	got := string(mustRead(t, out))
	for _, want := range []string{
		"# slkit: vmlinuz-v16: Secure Launch v16 kernel (boot protocol 2.15, SLAUNCH_FLAG in loadflags 0x05): no static MLE header",
		"# EFI boot: the loader installs EFI_SLAUNCH_PROTOCOL (534189e0-6fde-413d-be91-cd4e8d672fea)",
		"# legacy boot: the loader puts the SLRT's address in boot_params.slr_table_addr (zero page 0x078)",
		"\tslaunch\n\tslaunch_module " + acm + "\n\tlinux " + kernel + " quiet\n}\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("entry lacks %q:\n%s", want, got)
		}
	}
	grubScriptCheck(t, out)
}

// TestDRTMStageHardwareChecklist: the hardware backend still refuses
// (exit 3, one line: a ring-0 stub is required), and with --out it writes
// what it staged and checklist.txt next to it; a v16 kernel is accepted
// (no static MLE header needed); a platform that is not capable gets the
// checklist of what to fix and exit 3 too.
func TestDRTMStageHardwareChecklist(t *testing.T) {
	dir := t.TempDir()
	v15 := writeDRTMFile(t, dir, "vmlinuz", slaunchtest.Kernel(0x020F, 0x14, 0x200))
	v16 := writeDRTMFile(t, dir, "vmlinuz-v16", slaunchtest.KernelV16())
	acm := writeDRTMFile(t, dir, "sinit.bin", slaunchtest.ACM(slaunchtest.DefaultACM()))
	skl := writeDRTMFile(t, dir, "skl.bin", slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000))
	for _, c := range []struct {
		name, platform, kernel, dce string
		files                       []string
		want                        []string
	}{
		{"txt, v15", "txt-ready", v15, acm, []string{"checklist.txt", "os-sinit-data.bin", "slrt.bin"},
			[]string{"TXT.SINIT.BASE 0x8fb00000", "[x] SINIT ACM"}},
		{"txt, v16", "txt-ready", v16, acm, []string{"checklist.txt"},
			[]string{"[x] kernel: Secure Launch v16", "kernel: EFI boot: the loader installs EFI_SLAUNCH_PROTOCOL"}},
		{"skinit", "skinit-ready", v15, skl, []string{"checklist.txt", "expected.json", "slrt.bin"},
			[]string{"SKINIT streams the SKL's first 0x1800 bytes"}},
		{"not capable", "not-capable", v15, skl, []string{"checklist.txt"}, []string{"Neither architecture is ready"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "stage")
			r := runSlkit(t, nil, "drtm", "stage", "--backend", "hardware", "--platform", drtmPlatformFile(c.platform),
				"--kernel", c.kernel, "--dce", c.dce, "--out", out)
			if r.code != 3 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stdout, "checklist.txt lists what a ring-0 launch still needs") {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			var names []string
			es, _ := os.ReadDir(out)
			for _, e := range es {
				names = append(names, e.Name())
			}
			if strings.Join(names, " ") != strings.Join(c.files, " ") {
				t.Errorf("staged %v, want %v", names, c.files)
			}
			cl := string(mustRead(t, filepath.Join(out, "checklist.txt")))
			for _, w := range c.want {
				if !strings.Contains(cl, w) {
					t.Errorf("checklist lacks %q:\n%s", w, cl)
				}
			}
		})
	}
}
