package slaunch

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func loadPlatform(t *testing.T, name string) *Recording {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "platforms", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecording(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func TestProbeRecordedMachines(t *testing.T) {
	for _, tc := range []struct {
		name           string
		txt, skinit    Verdict
		txtReasons     []string
		skinitReasons  []string
		vendor         string
		wantTXTRegs    bool
		wantVer, didvi Reg
	}{
		{
			name: "txt-ready", txt: Ready, skinit: NotCapable, vendor: "GenuineIntel",
			skinitReasons: []string{`CPU is not an AMD CPU (vendor "GenuineIntel"): SKINIT needs AMD SVM`},
			wantTXTRegs:   true,
			// VER.FSBIF reads 0xffffffff, so VER.QPIIF (0x200) is used.
			wantVer: 0x80000000, didvi: 0x13e108086,
		},
		{
			name: "skinit-ready", txt: NotCapable, skinit: Ready, vendor: "AuthenticAMD",
			txtReasons: []string{`CPU is not an Intel CPU (vendor "AuthenticAMD"): TXT needs Intel SMX`},
		},
		{
			name: "not-capable", txt: NotCapable, skinit: NotCapable, vendor: "AuthenticAMD",
			txtReasons: []string{
				`CPU is not an Intel CPU (vendor "AuthenticAMD"): TXT needs Intel SMX`,
				"no TPM 2.0 (the kernel has no TPM device)",
			},
			skinitReasons: []string{
				"CPU has no SVM (CPUID 0x80000001:ECX[2] = 0)",
				"CPU has no SKINIT (CPUID 0x80000001:ECX[12] = 0)",
				"running under a hypervisor (CPUID.1:ECX[31] = 1): a virtual machine cannot execute SKINIT",
				"no TPM 2.0 (the kernel has no TPM device)",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Probe(loadPlatform(t, tc.name))
			if s.TXT.Verdict != tc.txt || s.SKINIT.Verdict != tc.skinit {
				t.Fatalf("verdicts txt=%q skinit=%q, want %q %q\n%+v\n%+v", s.TXT.Verdict, s.SKINIT.Verdict, tc.txt, tc.skinit, s.TXT, s.SKINIT)
			}
			if !reflect.DeepEqual(s.TXT.Reasons, tc.txtReasons) {
				t.Errorf("TXT reasons:\n got %q\nwant %q", s.TXT.Reasons, tc.txtReasons)
			}
			if !reflect.DeepEqual(s.SKINIT.Reasons, tc.skinitReasons) {
				t.Errorf("SKINIT reasons:\n got %q\nwant %q", s.SKINIT.Reasons, tc.skinitReasons)
			}
			if s.CPU.Vendor != tc.vendor {
				t.Errorf("vendor %q, want %q", s.CPU.Vendor, tc.vendor)
			}
			if (s.TXTRegs != nil) != tc.wantTXTRegs {
				t.Fatalf("TXT registers read: %v, want %v", s.TXTRegs != nil, tc.wantTXTRegs)
			}
			if tc.wantTXTRegs && (s.TXTRegs.Ver != tc.wantVer || s.TXTRegs.DIDVID != tc.didvi) {
				t.Errorf("VER %#x DIDVID %#x, want %#x %#x", s.TXTRegs.Ver, s.TXTRegs.DIDVID, tc.wantVer, tc.didvi)
			}
			if s.Ready(ArchTXT) != (tc.txt == Ready) || s.Ready(ArchSKINIT) != (tc.skinit == Ready) {
				t.Errorf("Ready() disagrees with the verdicts")
			}
		})
	}
}

// TestProbeBlockingReasons changes one register of a ready machine at a
// time and checks that exactly that reason appears.
func TestProbeBlockingReasons(t *testing.T) {
	for _, tc := range []struct {
		base    string
		arch    Arch
		mutate  func(r *Recording)
		verdict Verdict
		reason  string
	}{
		{"txt-ready", ArchTXT, func(r *Recording) { r.TXTRegs["0x8"] = 1 }, NotCapable, "TXT.ESTS TXT_RESET set"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.MSRs["0x3a"] = 0xff06 }, NotCapable, "IA32_FEATURE_CONTROL not locked (MSR 0x3A = 0xff06)"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.MSRs["0x3a"] = 0x7 }, NotCapable, "SENTER not enabled in IA32_FEATURE_CONTROL (MSR 0x3A = 0x7"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.CPUIDs["0x1"] = [4]Reg{0x906ea, 0x100800, 0x7ffafbbf, 0xbfebfbff} }, NotCapable, "CPU has no SMX (CPUID.1:ECX[6] = 0)"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.CPUIDs["0x1"] = [4]Reg{0x906ea, 0x100800, 0xfffafbff, 0xbfebfbff} }, NotCapable, "running under a hypervisor"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.TXTRegs["0x300"] = 0 }, NotCapable, "TXT heap not set up by firmware"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.TXTRegs["0x278"] = 0 }, NotCapable, "no SINIT region reserved by firmware"},
		{"txt-ready", ArchTXT, func(r *Recording) {
			for k := range r.TXTRegs {
				r.TXTRegs[k] = ^Reg(0)
			}
		}, NotCapable, "TXT registers at 0xfed30000 read as all ones: TXT is disabled in firmware"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.TPMInfo.VersionMajor = 1 }, NotCapable, "no TPM 2.0 (found a TPM 1.x)"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.TPMInfo = &TPMInfo{Locality: -1} }, NotCapable, "no TPM 2.0 (the kernel has no TPM device)"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.MSRError = "/dev/cpu/0/msr does not exist" }, Unknown, "cannot tell: read MSR 0x3a: /dev/cpu/0/msr does not exist"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.TXTError = "no /dev/mem" }, Unknown, "cannot tell: read TXT register 0x0: no /dev/mem"},
		{"txt-ready", ArchTXT, func(r *Recording) { r.TPMInfo.VersionMajor = 0 }, Unknown, "cannot tell: TPM version"},
		{"skinit-ready", ArchSKINIT, func(r *Recording) { r.MSRs["0xc0010114"] = 0x18 }, NotCapable, "SVM disabled in VM_CR (MSR 0xC0010114 = 0x18"},
		{"skinit-ready", ArchSKINIT, func(r *Recording) { r.CPUIDs["0x80000001"] = [4]Reg{0, 0, 0x75c227ff, 0} }, NotCapable, "CPU has no SKINIT (CPUID 0x80000001:ECX[12] = 0)"},
		{"skinit-ready", ArchSKINIT, func(r *Recording) { r.CPUIDs["0x80000001"] = [4]Reg{0, 0, 0x75c237fb, 0} }, NotCapable, "CPU has no SVM (CPUID 0x80000001:ECX[2] = 0)"},
		{"skinit-ready", ArchSKINIT, func(r *Recording) { delete(r.MSRs, "0xc0010114") }, Unknown, "cannot tell: read MSR 0xc0010114: not in the recording"},
		{"skinit-ready", ArchSKINIT, func(r *Recording) { r.TPMError = "sysfs unreadable" }, Unknown, "cannot tell: TPM: sysfs unreadable"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			r := loadPlatform(t, tc.base)
			tc.mutate(r)
			s := Probe(r)
			got := s.TXT
			if tc.arch == ArchSKINIT {
				got = s.SKINIT
			}
			if got.Verdict != tc.verdict {
				t.Fatalf("verdict %q, want %q (reasons %q)", got.Verdict, tc.verdict, got.Reasons)
			}
			if len(got.Reasons) != 1 || !strings.HasPrefix(got.Reasons[0], tc.reason) {
				t.Fatalf("reasons %q, want exactly one starting with %q", got.Reasons, tc.reason)
			}
		})
	}
}

func TestProbeNotes(t *testing.T) {
	r := loadPlatform(t, "txt-ready")
	r.TXTRegs["0x30"] = 0xC0008001 // an ACM error code
	r.TXTRegs["0x0"] = 0x18083     // SENTER.DONE
	r.TXTRegs["0x200"] = 0         // debug fused
	s := Probe(r)
	want := []string{
		"TXT.ERRORCODE 0xc0008001: the last launch attempt failed",
		"TXT.STS SENTER.DONE: a measured launch environment is running",
		"chipset is debug-fused (VER bit 31 = 0): only debug-signed SINIT ACMs run",
	}
	if s.TXT.Verdict != Ready || !reflect.DeepEqual(s.TXT.Notes, want) {
		t.Fatalf("verdict %q notes %q, want ready with %q", s.TXT.Verdict, s.TXT.Notes, want)
	}
}

// TestProbeThisMachine runs the real probe here: it must not fail or
// panic, whatever the container allows, and every verdict other than
// ready must come with reasons.
func TestProbeThisMachine(t *testing.T) {
	s := Probe(NewHostPlatform())
	for _, r := range []Readiness{s.TXT, s.SKINIT} {
		switch r.Verdict {
		case Ready:
		case NotCapable, Unknown:
			if len(r.Reasons) == 0 {
				t.Errorf("%s: %s without reasons", r.Arch, r.Verdict)
			}
		default:
			t.Errorf("%s: verdict %q", r.Arch, r.Verdict)
		}
	}
	if s.CPU.Hypervisor && (s.TXT.Verdict != NotCapable || s.SKINIT.Verdict != NotCapable) {
		t.Errorf("under a hypervisor, both must be not capable: %+v %+v", s.TXT, s.SKINIT)
	}
	t.Logf("txt: %s %q; skinit: %s %q", s.TXT.Verdict, s.TXT.Reasons, s.SKINIT.Verdict, s.SKINIT.Reasons)
}

// TestRecordReplays records a probe, saves it as JSON, and checks that the
// saved recording gives the same status.
func TestRecordReplays(t *testing.T) {
	for _, name := range []string{"txt-ready", "skinit-ready", "not-capable"} {
		rec := &Recording{}
		want := Probe(Record(loadPlatform(t, name), rec))
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRecording(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if got := Probe(again); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: replay differs:\n got %+v\nwant %+v", name, got, want)
		}
	}
	// The host too: whatever it can read replays the same.
	rec := &Recording{}
	want := Probe(Record(NewHostPlatform(), rec))
	b, _ := json.Marshal(rec)
	again, err := ParseRecording(b)
	if err != nil {
		t.Fatalf("host recording: %v\n%s", err, b)
	}
	if got := Probe(again); !reflect.DeepEqual(got, want) {
		t.Errorf("host replay differs:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseRecordingErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"cpuid":{},"bogus":1}`, `unknown field "bogus"`},
		{`{"cpuid":{"leaf1":["0x0","0x0","0x0","0x0"]}}`, `cpuid key "leaf1"`},
		{`{"cpuid":{},"msr":{"x":"0x1"}}`, `msr key "x"`},
		{`{"cpuid":{},"msr":{"0x3a":"zz"}}`, `register value "zz"`},
		{`[]`, `cannot unmarshal array`},
		{`{"cpuid":{"1":["0x0","0x0","0x0","0x0"],"0x01":["0x1","0x0","0x0","0x0"]}}`, `cpuid leaf 0x1 is given twice`},
		{`{"cpuid":{},"txt":{"8":"0x1","0x08":"0x0"}}`, `txt register 0x8 is given twice`},
	} {
		_, err := ParseRecording([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.want)
		}
	}
	r := &Recording{}
	if _, err := r.CPUID(1, 0); !errors.Is(err, ErrNotRecorded) {
		t.Errorf("empty recording CPUID: %v", err)
	}
}

func TestHostPlatformTPMFromSysfs(t *testing.T) {
	root := t.TempDir()
	sys := filepath.Join(root, "sys/class/tpm/tpm0")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(sys, "device"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "dev"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "drivers/tpm_tis"), 0o755))
	must(os.WriteFile(filepath.Join(root, "dev/tpm0"), nil, 0o600))
	must(os.WriteFile(filepath.Join(sys, "tpm_version_major"), []byte("2\n"), 0o644))
	must(os.WriteFile(filepath.Join(sys, "locality"), []byte("2\n"), 0o644))
	must(os.Symlink(filepath.Join(root, "drivers/tpm_tis"), filepath.Join(sys, "device/driver")))
	got, err := NewHostPlatform(WithRoot(root)).TPM()
	want := TPMInfo{Present: true, Device: "/dev/tpm0", VersionMajor: 2, Driver: "tpm_tis", Locality: 2}
	if err != nil || got != want {
		t.Fatalf("TPM() = %+v, %v; want %+v", got, err, want)
	}
	if _, err := NewHostPlatform(WithRoot(root)).ReadMSR(0, 0x3a); err == nil || !strings.Contains(err.Error(), "modprobe msr") {
		t.Errorf("ReadMSR without /dev/cpu: %v", err)
	}
	if _, err := NewHostPlatform(WithRoot(root)).ReadTXT(0); err == nil || !strings.Contains(err.Error(), "/dev/mem does not exist") {
		t.Errorf("ReadTXT without /dev/mem: %v", err)
	}
}
