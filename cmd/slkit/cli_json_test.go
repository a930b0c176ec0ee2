package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// decodeJSON decodes a command's stdout strictly into v (unknown fields
// are an error: the test's struct is the documented shape).
func decodeJSON(t *testing.T, r cliResult, v any) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	d := json.NewDecoder(strings.NewReader(r.stdout))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%v in %s", err, r.stdout)
	}
}

type jsonEvent struct {
	Index    int               `json:"index"`
	Offset   int               `json:"offset"`
	PCR      int               `json:"pcr"`
	Type     string            `json:"type"`
	TypeCode int               `json:"type_code"`
	Digests  map[string]string `json:"digests"`
	Data     string            `json:"data"`
	Desc     string            `json:"description"`
}

// TestJSONMeasureAndLaunch: measure --json and launch --dry-run --json
// report the events extended, whose digests are the stdlib SHA-256 of the
// bytes measured.
func TestJSONMeasureAndLaunch(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tt := tpmtest.Open(t)
	f := writeLaunchFiles(t)
	log := filepath.Join(f.dir, "measure.log")
	var m struct {
		Banks     []string    `json:"banks"`
		Events    []jsonEvent `json:"events"`
		Log       string      `json:"log"`
		LogEvents int         `json:"log_events"`
	}
	decodeJSON(t, runSlkit(t, tt, "measure", "--kernel", f.kernel, "--initrd", f.initrd, "--cmdline", "quiet", "--log", log, "--json"), &m)
	if m.Log != log || m.LogEvents != 3 || len(m.Events) != 3 || len(m.Banks) != 4 ||
		m.Events[0].Digests["sha256"] != sha256Hex(f.kb) || m.Events[1].Digests["sha256"] != sha256Hex(f.ib) ||
		m.Events[2].Digests["sha256"] != sha256Hex([]byte("quiet")) || m.Events[2].PCR != 8 || m.Events[2].Desc != "cmdline" {
		t.Fatalf("measure --json: %+v", m)
	}

	key := f.policyKey(t)
	signed := f.sign(t, key, "policy.json", f.policyDoc(sha256Hex(f.kb)))
	var d struct {
		Entry        string      `json:"entry"`
		Events       []jsonEvent `json:"events"`
		Log          string      `json:"log"`
		Kernel       string      `json:"kernel"`
		Initrd       string      `json:"initrd"`
		Cmdline      string      `json:"cmdline"`
		Handover     []string    `json:"drtm_handover"`
		DRTMFallback string      `json:"drtm_fallback"`
	}
	launchLog := filepath.Join(f.dir, "launch.log")
	decodeJSON(t, runSlkit(t, tt, "launch", "--policy", signed, "--policy-key", key+".pub", "--root", f.root, "--log", launchLog, "--dry-run", "--json"), &d)
	sb, _ := os.ReadFile(signed)
	if d.Entry != "default" || d.Kernel != "/boot/vmlinuz" || d.Initrd != "/boot/initrd.img" || d.Cmdline != "console=ttyS0 quiet" ||
		d.Log != launchLog || len(d.Events) != 4 || d.Events[0].Digests["sha256"] != sha256Hex(sb) || d.Events[0].Desc != "launch-policy" {
		t.Fatalf("launch --dry-run --json: %+v", d)
	}
	r := runSlkit(t, tt, "launch", "--policy", signed, "--policy-key", key+".pub", "--json")
	if r.code != 1 || !strings.Contains(r.stderr, "--json needs --dry-run") {
		t.Fatalf("launch --json without --dry-run: %d %q", r.code, r.stderr)
	}
}

// TestJSONUnsealNeverTheSecret: unseal --json reports the object and where
// the secret went, and the secret is nowhere in its output.
func TestJSONUnsealNeverTheSecret(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	secret := []byte("JSON-UNSEAL-SECRET-0123456789")
	in, sealed, out := filepath.Join(dir, "secret"), filepath.Join(dir, "s.sealed"), filepath.Join(dir, "out")
	os.WriteFile(in, secret, 0o600)
	if r := runSlkit(t, tt, "seal", "--pcrs", "16", "--in", in, "--out", sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	type report struct {
		File        string `json:"file"`
		Object      string `json:"object"`
		MainRefusal string `json:"main_refusal"`
		Bank        string `json:"bank"`
		PCRs        []int  `json:"pcrs"`
		PIN         bool   `json:"pin"`
		Out         string `json:"out"`
		Fingerprint string `json:"fingerprint"`
	}
	for _, args := range [][]string{{"--json"}, {"--json", "--out", out, "--fingerprint"}} {
		r := runSlkit(t, tt, append([]string{"unseal", sealed}, args...)...)
		if bytes.Contains([]byte(r.stdout), secret) || bytes.Contains([]byte(r.stderr), secret) {
			t.Fatalf("%v: the secret is in the output", args)
		}
		var got report
		decodeJSON(t, r, &got)
		want := report{File: sealed, Object: "main", Bank: "sha256", PCRs: []int{16}}
		if len(args) > 1 {
			want.Out, want.Fingerprint = out, fmt.Sprintf("sha256:%x", sha256.Sum256(secret))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%v: %+v, want %+v", args, got, want)
		}
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, secret) {
		t.Fatal("--out did not get the secret")
	}
}

// TestJSONKeysQueueSRKMount: policy keygen/sign, efi keygen, efi queue,
// srk provision and efi mount --json print their documented shapes.
func TestJSONKeysQueueSRKMount(t *testing.T) {
	f := writeLaunchFiles(t)
	var k struct {
		Private string `json:"private"`
		Public  string `json:"public"`
		KeyID   string `json:"keyid"`
	}
	key := filepath.Join(f.dir, "p.key")
	decodeJSON(t, runSlkit(t, nil, "policy", "keygen", "--out", key, "--json"), &k)
	pub, _ := os.ReadFile(key + ".pub")
	if k.Private != key || k.Public != key+".pub" || len(k.KeyID) != 64 || !strings.Contains(string(pub), "PUBLIC KEY") {
		t.Fatalf("policy keygen --json: %+v", k)
	}
	var s struct {
		In      string `json:"in"`
		Out     string `json:"out"`
		Entries int    `json:"entries"`
		KeyID   string `json:"keyid"`
	}
	in := f.write(t, "doc.json", f.policyDoc(sha256Hex(f.kb)))
	out := filepath.Join(f.dir, "signed.json")
	decodeJSON(t, runSlkit(t, nil, "policy", "sign", "--key", key, "--in", in, "--out", out, "--json"), &s)
	if s.In != in || s.Out != out || s.Entries != 1 || s.KeyID != k.KeyID {
		t.Fatalf("policy sign --json: %+v", s)
	}
	efiKey := filepath.Join(f.dir, "efi.key")
	k.KeyID = ""
	decodeJSON(t, runSlkit(t, nil, "efi", "keygen", "--out", efiKey, "--json"), &k)
	if k.Private != efiKey || len(k.KeyID) != 64 {
		t.Fatalf("efi keygen --json: %+v", k)
	}
	var q struct {
		Op         string `json:"op"`
		Var        string `json:"var"`
		Journal    string `json:"journal"`
		Generation uint64 `json:"generation"`
		Entries    int    `json:"entries"`
	}
	journalPath := filepath.Join(f.dir, "journal")
	decodeJSON(t, runEFI(t, efitest.New(), "", "efi", "queue", "set", "Thing-"+vendorGUIDText, "--hex", "01", "--key", efiKey, "--journal", journalPath, "--json"), &q)
	if q.Op != "set" || q.Var != "Thing-"+vendorGUIDText || q.Journal != journalPath || q.Generation != 1 || q.Entries != 1 {
		t.Fatalf("efi queue --json: %+v", q)
	}

	tt := tpmtest.Open(t)
	var srk struct {
		Handle string `json:"handle"`
		Name   string `json:"name"`
	}
	decodeJSON(t, runSlkit(t, tt, "srk", "provision", "--json"), &srk)
	name, _ := hex.DecodeString(srk.Name)
	if srk.Handle != "0x81000001" || len(name) != 34 || name[0] != 0x00 || name[1] != 0x0b {
		t.Fatalf("srk provision --json: %+v", srk)
	}

	var m struct {
		Device  string `json:"device"`
		Dir     string `json:"dir"`
		FSType  string `json:"fstype"`
		Options string `json:"options"`
	}
	sys := &mountRecorder{}
	decodeJSON(t, runWithSystem(t, sys, "efi", "mount", "--device", "/dev/vdb", "--dir", "/run/disk", "--json"), &m)
	if m.Device != "/dev/vdb" || m.Dir != "/run/disk" || m.FSType != "ext4" || m.Options != "nosuid,nodev,noexec" || sys.mounted != "/dev/vdb /run/disk ext4" {
		t.Fatalf("efi mount --json: %+v, mounted %q", m, sys.mounted)
	}
}

// mountRecorder is a machine with every device present that records the
// mount it is asked for (the rest of pid1.System is not used).
type mountRecorder struct {
	pid1.System
	mounted string
}

func (m *mountRecorder) ReadFile(string) ([]byte, error) { return nil, os.ErrNotExist }
func (m *mountRecorder) Exists(string) bool              { return true }
func (m *mountRecorder) MkdirAll(string) error           { return nil }
func (m *mountRecorder) Mount(src, dst, fstype string, _ uintptr) error {
	m.mounted = src + " " + dst + " " + fstype
	return nil
}

func runWithSystem(t *testing.T, sys pid1.System, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, stdoutIsTerminal: func() bool { return false },
		newSystem: func() pid1.System { return sys }}
	code := run(append([]string{"slkit"}, args...), e)
	return cliResult{out.String(), errb.String(), code}
}
