package initramfs

import (
	"errors"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
)

// okFlags are flags that are all valid: the defaults of the CLI.
func okFlags() BuildFlags { return BuildFlags{OnFailure: "poweroff", OnSuccess: "poweroff"} }

// applied is the configuration opts give.
func applied(opts []Option) buildConfig {
	c := defaultBuildConfig()
	for _, o := range opts {
		o(&c)
	}
	return c
}

func TestBuildFlagsOptions(t *testing.T) {
	run := " efi mount  --dir /run/disk "
	f := BuildFlags{
		Full: true, Policy: "p.json", PolicyKey: "p.pub",
		Add: []string{"/h/a:b:/boot/x"}, Modules: []string{"a.ko", "b.ko.xz"},
		Run: &run, Then: []string{"pcr read 8", "! unseal /s"},
		OnFailure: "reboot", OnSuccess: "poweroff",
		Jobs:         []string{"update:efi queue set X", " update : drtm leave", "other:pcr read 17"},
		JobOnSuccess: []string{"update: reboot"},
		JobRequest:   "/run/disk/jobs", DebugShell: true, SlkitBinary: "slkit", Source: "/src",
		Log: os.Stderr,
	}
	opts, err := f.Options()
	if err != nil {
		t.Fatal(err)
	}
	want := defaultBuildConfig()
	want.full, want.policy, want.policyKey = true, "p.json", "p.pub"
	want.payloads = []Payload{{Src: "/h/a:b", Dst: "/boot/x"}}
	want.modules = []string{"a.ko", "b.ko.xz"}
	want.run = []string{"efi", "mount", "--dir", "/run/disk"}
	want.then = [][]string{{"pcr", "read", "8"}, {"!", "unseal", "/s"}}
	want.onFailure, want.onSuccess = Reboot, PowerOff
	want.jobs = map[string]Job{
		"update": {Steps: [][]string{{"efi", "queue", "set", "X"}, {"drtm", "leave"}}, OnSuccess: Reboot},
		"other":  {Steps: [][]string{{"pcr", "read", "17"}}},
	}
	want.jobRequest, want.debugShell, want.slkitBinary, want.source = "/run/disk/jobs", true, "slkit", "/src"
	want.log = os.Stderr
	if got := applied(opts); !reflect.DeepEqual(got, want) {
		t.Errorf("Options applied:\n got %+v\nwant %+v", got, want)
	}

	// The defaults: no run (DefaultRun), no log, no jobs.
	f = okFlags()
	if opts, err = f.Options(); err != nil {
		t.Fatal(err)
	}
	want = defaultBuildConfig()
	want.onSuccess = PowerOff
	if got := applied(opts); !reflect.DeepEqual(got, want) || got.run != nil || got.log != io.Discard {
		t.Errorf("default Options applied:\n got %+v\nwant %+v", got, want)
	}
}

func TestBuildFlagsRefuses(t *testing.T) {
	empty, blank := "", " \t"
	for _, tc := range []struct {
		name string
		edit func(*BuildFlags)
		want string
	}{
		{"on-failure", func(f *BuildFlags) { f.OnFailure = "shell" }, `--on-failure "shell": want poweroff or reboot`},
		{"on-failure empty", func(f *BuildFlags) { f.OnFailure = "" }, `--on-failure "": want poweroff or reboot`},
		{"empty run", func(f *BuildFlags) { f.Run = &empty }, "--run is empty"},
		{"blank run", func(f *BuildFlags) { f.Run = &blank }, "--run is empty"},
		{"empty then", func(f *BuildFlags) { f.Then = []string{"pcr read", " "} }, "--then is empty"},
		{"on-success", func(f *BuildFlags) { f.OnSuccess = "halt" }, `--on-success "halt": want poweroff or reboot`},
		{"job no colon", func(f *BuildFlags) { f.Jobs = []string{"nocolon"} }, `--job "nocolon": want NAME:ARGS`},
		{"job no args", func(f *BuildFlags) { f.Jobs = []string{"a: "} }, `--job "a: ": want NAME:ARGS`},
		{"job-on-success", func(f *BuildFlags) { f.JobOnSuccess = []string{"a:halt"} }, `--job-on-success "a:halt": want NAME:poweroff or NAME:reboot`},
		{"job-on-success no colon", func(f *BuildFlags) { f.JobOnSuccess = []string{"a"} }, `--job-on-success "a": want NAME:poweroff or NAME:reboot`},
		{"add", func(f *BuildFlags) { f.Add = []string{"vmlinuz"} }, `bad initramfs input: --add "vmlinuz": want SRC:DST`},
		// The first bad value is the error.
		{"order", func(f *BuildFlags) { f.OnFailure, f.Run = "x", &empty }, `--on-failure "x": want poweroff or reboot`},
	} {
		f := okFlags()
		tc.edit(&f)
		opts, err := f.Options()
		if err == nil || err.Error() != tc.want || opts != nil {
			t.Errorf("%s: Options = %d options, %v; want %q", tc.name, len(opts), err, tc.want)
			continue
		}
		if !errors.Is(err, ErrInput) || !errors.Is(err, errkind.Input) {
			t.Errorf("%s: %v is not an input error", tc.name, err)
		}
	}
}
