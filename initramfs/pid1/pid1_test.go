package pid1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/initramfs"
)

// fakeSystem records every call, in order, and answers from its fields.
type fakeSystem struct {
	calls    []string
	files    map[string]string // ReadFile and Exists
	failOn   map[string]error  // call prefix -> error
	runExit  Exit
	runExits map[string]Exit // per argv (joined with spaces), else runExit
	runErr   string          // what the child writes to stderr
	rebootOK bool
}

func newFake(cfg string) *fakeSystem {
	return &fakeSystem{files: map[string]string{initramfs.ConfigPath: cfg}, failOn: map[string]error{}, rebootOK: true}
}

func (f *fakeSystem) call(format string, a ...any) error {
	c := fmt.Sprintf(format, a...)
	f.calls = append(f.calls, c)
	for p, err := range f.failOn {
		if strings.HasPrefix(c, p) {
			return err
		}
	}
	return nil
}

func (f *fakeSystem) Stdio(console string) error { return f.call("stdio %s", console) }
func (f *fakeSystem) MkdirAll(p string) error    { return f.call("mkdir %s", p) }
func (f *fakeSystem) Mount(src, dst, typ string, flags uintptr) error {
	return f.call("mount %s %s %s", src, dst, typ)
}
func (f *fakeSystem) ReadFile(p string) ([]byte, error) {
	if s, ok := f.files[p]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}
func (f *fakeSystem) ReadFileAtMost(p string, max int64) ([]byte, error) {
	b, err := f.ReadFile(p)
	if err == nil && int64(len(b)) > max {
		return nil, fmt.Errorf("%d bytes (at most %d)", len(b), max)
	}
	return b, err
}
func (f *fakeSystem) ReplaceFile(p string, data []byte) error {
	if err := f.call("replace %s %q", p, data); err != nil {
		return err
	}
	if len(data) == 0 {
		delete(f.files, p)
	} else {
		f.files[p] = string(data)
	}
	return nil
}
func (f *fakeSystem) Exists(p string) bool      { _, ok := f.files[p]; return ok }
func (f *fakeSystem) LoadModule(p string) error { return f.call("module %s", p) }
func (f *fakeSystem) Shell(p string) error      { return f.call("shell %s", p) }
func (f *fakeSystem) Uptime() time.Duration {
	return time.Duration(len(f.calls)) * 10 * time.Millisecond
}
func (f *fakeSystem) Run(argv []string, stderr io.Writer) (Exit, error) {
	if err := f.call("run %s", strings.Join(argv, " ")); err != nil {
		return Exit{}, err
	}
	io.WriteString(stderr, f.runErr)
	if e, ok := f.runExits[strings.Join(argv, " ")]; ok {
		return e, nil
	}
	return f.runExit, nil
}
func (f *fakeSystem) Reboot(a initramfs.FailureAction) error {
	f.call("reboot %s", a)
	if !f.rebootOK {
		return errors.New("operation not permitted")
	}
	return nil
}

func config(t *testing.T, c initramfs.Config) string {
	t.Helper()
	c.Version = initramfs.ConfigVersion
	if c.Run == nil {
		c.Run = initramfs.DefaultRun()
	}
	if c.OnFailure == "" {
		c.OnFailure = initramfs.PowerOff
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func run(t *testing.T, f *fakeSystem) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(f, WithOutput(&out, &errOut))
	return out.String() + errOut.String(), err
}

var launchRun = "run slkit launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub"

func TestMountOrderAndSuccess(t *testing.T) {
	f := newFake(config(t, initramfs.Config{Modules: []string{"/lib/modules/efivarfs.ko", "/lib/modules/b.ko"}}))
	f.files["/sys/firmware/efi"] = ""
	out, err := run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"stdio /dev/console",
		"mkdir /proc", "mount proc /proc proc",
		"mkdir /sys", "mount sysfs /sys sysfs",
		"mkdir /dev", "mount devtmpfs /dev devtmpfs",
		"mkdir /sys/kernel/security", "mount securityfs /sys/kernel/security securityfs",
		"module /lib/modules/efivarfs.ko", "module /lib/modules/b.ko",
		"mkdir /sys/firmware/efi/efivars", "mount efivarfs /sys/firmware/efi/efivars efivarfs",
		launchRun,
		"reboot poweroff",
	}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range []string{"slkit: phase=init t=0.01s", "slkit: phase=mount", "slkit: phase=modules", "slkit: phase=efivarfs", "slkit: phase=run", "slkit: result=ok", "slkit: phase=poweroff"} {
		if !strings.Contains(out, l) {
			t.Errorf("console lacks %q:\n%s", l, out)
		}
	}
}

// Then steps run in order after the run command; the first failure ends
// the run with its reason and nothing after it runs.
func TestThenSteps(t *testing.T) {
	cfg := initramfs.Config{Run: []string{"pcr", "read"}, Then: [][]string{{"drtm", "verify"}, {"unseal", "/s", "--fingerprint"}, {"pcr", "read", "17"}}}
	f := newFake(config(t, cfg))
	f.runExits = map[string]Exit{"slkit unseal /s --fingerprint": {Code: 3}}
	f.runErr = "slkit: unseal refused: PCR 17 differs\n"
	out, err := run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"stdio /dev/console", "mkdir /proc", "mount proc /proc proc", "mkdir /sys", "mount sysfs /sys sysfs",
		"mkdir /dev", "mount devtmpfs /dev devtmpfs", "mkdir /sys/kernel/security", "mount securityfs /sys/kernel/security securityfs",
		"run slkit pcr read", "run slkit drtm verify", "run slkit unseal /s --fingerprint", "reboot poweroff"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
	if l := "slkit: result=fail reason=slkit unseal exited with status 3: unseal refused: PCR 17 differs\n"; !strings.Contains(out, l) {
		t.Errorf("console lacks %q:\n%s", l, out)
	}
	if strings.Contains(out, "result=ok") {
		t.Errorf("a failed step reported ok:\n%s", out)
	}

	f = newFake(config(t, cfg))
	if out, err = run(t, f); err != nil || !strings.Contains(out, "slkit: running slkit pcr read 17\nslkit: result=ok\n") {
		t.Errorf("all steps succeed: err %v, console:\n%s", err, out)
	}
}

func TestNoEFINoModules(t *testing.T) {
	f := newFake(config(t, initramfs.Config{}))
	if _, err := run(t, f); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.calls {
		if strings.Contains(c, "efivarfs") || strings.HasPrefix(c, "module") {
			t.Errorf("unexpected %q on a non-EFI system without modules", c)
		}
	}
}

// In a full image u-root's init mounted most things already.
func TestSkipsMounted(t *testing.T) {
	f := newFake(config(t, initramfs.Config{}))
	f.files["/proc/self/mounts"] = "rootfs / rootfs rw 0 0\nproc /proc proc rw 0 0\nsysfs /sys sysfs rw 0 0\n" +
		"devtmpfs /dev devtmpfs rw 0 0\nnone /sys/kernel/security securityfs rw 0 0\n"
	if _, err := run(t, f); err != nil {
		t.Fatal(err)
	}
	if want := []string{"stdio /dev/console", launchRun, "reboot poweroff"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
}

func TestFailurePowersOffWithReason(t *testing.T) {
	f := newFake(config(t, initramfs.Config{}))
	f.files["/bbin/gosh"] = "" // a shell exists, but the image has no debug shell
	f.runExit = Exit{Code: 3}
	f.runErr = "slkit: phase=verify-policy t=0.005s\nslkit: phase=measure t=0.04s\n" +
		"slkit: image does not match the launch policy: kernel /boot/vmlinuz: sha256 9a0b…, policy entry \"default\" allows 1f2e…\n"
	out, err := run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	wantLine := `slkit: result=fail reason=slkit launch exited with status 3: image does not match the launch policy: kernel /boot/vmlinuz: sha256 9a0b…, policy entry "default" allows 1f2e…`
	if !strings.Contains(out, wantLine+"\n") {
		t.Errorf("console lacks %q:\n%s", wantLine, out)
	}
	if last := f.calls[len(f.calls)-1]; last != "reboot poweroff" {
		t.Errorf("last call %q, want power off", last)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "shell") {
			t.Errorf("shell started without --debug-shell: %q", c)
		}
	}
	// The child's stderr reaches the console unchanged.
	if !strings.Contains(out, f.runErr) {
		t.Error("the run command's stderr did not reach the console")
	}
}

func TestFailureReboots(t *testing.T) {
	f := newFake(config(t, initramfs.Config{OnFailure: initramfs.Reboot}))
	f.runExit = Exit{Code: -1, Signal: "SIGSEGV"}
	out, err := run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "slkit: result=fail reason=slkit launch was killed by signal SIGSEGV\n") {
		t.Errorf("console:\n%s", out)
	}
	if last := f.calls[len(f.calls)-1]; last != "reboot reboot" {
		t.Errorf("last call %q, want reboot", last)
	}
}

func TestDebugShell(t *testing.T) {
	f := newFake(config(t, initramfs.Config{DebugShell: true}))
	f.files["/bbin/gosh"] = ""
	f.runExit = Exit{Code: 1}
	out, err := run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.calls)
	if f.calls[n-2] != "shell /bbin/gosh" || f.calls[n-1] != "reboot poweroff" {
		t.Errorf("calls end %q, want the shell, then power off", f.calls[n-2:])
	}
	if !strings.Contains(out, "slkit: phase=shell") {
		t.Errorf("console:\n%s", out)
	}

	// Debug shell wanted, none in the image: say so and power off.
	f = newFake(config(t, initramfs.Config{DebugShell: true}))
	f.runExit = Exit{Code: 1}
	out, _ = run(t, f)
	if !strings.Contains(out, "debug shell requested, but the image has none") || f.calls[len(f.calls)-1] != "reboot poweroff" {
		t.Errorf("no shell: calls %q console:\n%s", f.calls, out)
	}
}

func TestMountFailureStopsBeforeRun(t *testing.T) {
	f := newFake(config(t, initramfs.Config{OnFailure: initramfs.Reboot}))
	f.failOn["mount devtmpfs"] = errors.New("no such device")
	out, err := run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "run") {
			t.Fatal("ran the command after a failed mount")
		}
	}
	if !strings.Contains(out, "slkit: result=fail reason=mount devtmpfs on /dev: no such device") || f.calls[len(f.calls)-1] != "reboot reboot" {
		t.Errorf("calls %q console:\n%s", f.calls, out)
	}
}

func TestModuleAndEFIVarFSFailuresAreWarnings(t *testing.T) {
	f := newFake(config(t, initramfs.Config{Modules: []string{"/lib/modules/efivarfs.ko"}}))
	f.files["/sys/firmware/efi"] = ""
	f.failOn["module"] = errors.New("no such device")
	f.failOn["mount efivarfs"] = errors.New("no such device")
	out, err := run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "slkit: warning: module /lib/modules/efivarfs.ko: no such device") || !strings.Contains(out, "slkit: result=ok") {
		t.Errorf("console:\n%s", out)
	}
}

func TestBadConfigPowersOff(t *testing.T) {
	for name, cfg := range map[string]*string{"missing": nil, "malformed": ptr(`{"version":1}`)} {
		f := newFake("")
		if cfg == nil {
			delete(f.files, initramfs.ConfigPath)
		} else {
			f.files[initramfs.ConfigPath] = *cfg
		}
		out, err := run(t, f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "slkit: result=fail reason=init configuration /etc/slkit/init.json: ") {
			t.Errorf("%s: console:\n%s", name, out)
		}
		if want := []string{"stdio /dev/console", "reboot poweroff"}; !reflect.DeepEqual(f.calls, want) {
			t.Errorf("%s: calls %q, want %q", name, f.calls, want)
		}
	}
}

func ptr(s string) *string { return &s }

func TestRunCannotStart(t *testing.T) {
	f := newFake(config(t, initramfs.Config{}))
	f.failOn["run"] = errors.New("exec format error")
	out, _ := run(t, f)
	if !strings.Contains(out, "slkit: result=fail reason=cannot run slkit launch: exec format error") {
		t.Errorf("console:\n%s", out)
	}
}

func TestFinalActionFails(t *testing.T) {
	f := newFake(config(t, initramfs.Config{}))
	f.runExit = Exit{Code: 2}
	f.rebootOK = false
	if _, err := run(t, f); !errors.Is(err, ErrFinal) {
		t.Fatalf("got %v, want ErrFinal", err)
	}
}

func TestParseMounts(t *testing.T) {
	m := parseMounts([]byte("proc /proc proc rw 0 0\n/dev/sda1 /mnt/my\\040disk ext4 rw 0 0\nbad\n"))
	if !m["/proc"] || !m["/mnt/my disk"] || len(m) != 2 {
		t.Errorf("parseMounts = %v", m)
	}
}

func TestErrLineKeepsLastErrorOnly(t *testing.T) {
	var sink bytes.Buffer
	e := &errLine{w: &sink}
	for _, chunk := range []string{"slkit: first error\nnoise\nslkit: pha", "se=kexec t=1s\nslkit: result=ok\n", "slkit: partial last"} {
		e.Write([]byte(chunk))
	}
	if got := e.Last(); got != "partial last" {
		t.Errorf("Last = %q", got)
	}
	if !strings.HasPrefix(sink.String(), "slkit: first error\n") {
		t.Error("not passed through")
	}
}
