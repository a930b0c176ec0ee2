package initramfs

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

func TestBuildMinimalLayout(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "pre.cpio")
	res, err := BuildFile(context.Background(), out, f.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := readImage(t, data)
	want := []struct {
		name  string
		mode  uint64
		rdev  [2]uint64
		bytes string
	}{
		{"bin", 0o40755, [2]uint64{}, ""},
		{"boot", 0o40755, [2]uint64{}, ""},
		{"boot/initrd.img", 0o100755, [2]uint64{}, strings.Repeat("initrd", 1000)},
		{"boot/vmlinuz", 0o100644, [2]uint64{}, "kernel image"},
		{"dev", 0o40755, [2]uint64{}, ""},
		{"dev/console", 0o20600, [2]uint64{5, 1}, ""},
		{"etc", 0o40755, [2]uint64{}, ""},
		{"etc/slkit", 0o40755, [2]uint64{}, ""},
		{"etc/slkit/init.json", 0o100644, [2]uint64{}, ""},
		{"etc/slkit/policy.json", 0o100644, [2]uint64{}, string(mustRead(t, f.policy))},
		{"etc/slkit/policy.pub", 0o100644, [2]uint64{}, string(mustRead(t, f.pub))},
		{"init", 0o100755, [2]uint64{}, string(f.elf)},
		{"lib", 0o40755, [2]uint64{}, ""},
		{"lib/modules", 0o40755, [2]uint64{}, ""},
		{"lib/modules/a.ko", 0o100644, [2]uint64{}, "\x7fELF module a"},
		{"lib/modules/b.ko", 0o100644, [2]uint64{}, "\x7fELF module b"},
		{"proc", 0o40555, [2]uint64{}, ""},
		{"run", 0o40755, [2]uint64{}, ""},
		{"sys", 0o40555, [2]uint64{}, ""},
		{"tmp", 0o41777, [2]uint64{}, ""},
	}
	if len(recs) != len(want) {
		var names []string
		for _, r := range recs {
			names = append(names, r.Name)
		}
		t.Fatalf("%d records %v, want %d", len(recs), names, len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.Name != w.name || r.Mode != w.mode || r.Rmajor != w.rdev[0] || r.Rminor != w.rdev[1] {
			t.Errorf("record %d: %s %#o %d:%d, want %s %#o %d:%d", i, r.Name, r.Mode, r.Rmajor, r.Rminor, w.name, w.mode, w.rdev[0], w.rdev[1])
		}
		if r.UID != 0 || r.GID != 0 || r.MTime != 0 {
			t.Errorf("%s: uid %d gid %d mtime %d, want zeros", r.Name, r.UID, r.GID, r.MTime)
		}
		if w.bytes != "" {
			if c := content(t, recs, w.name); c != w.bytes {
				t.Errorf("%s: content differs (%d bytes, want %d)", w.name, len(c), len(w.bytes))
			}
		}
	}
	cfg, err := ParseConfig([]byte(content(t, recs, "etc/slkit/init.json")))
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := &Config{Version: 1, Run: []string{"launch", "--policy", "/etc/slkit/policy.json", "--policy-key", "/etc/slkit/policy.pub"},
		OnFailure: PowerOff, Modules: []string{"/lib/modules/a.ko", "/lib/modules/b.ko"}}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("init.json = %+v, want %+v", cfg, wantCfg)
	}
	if res.Size != int64(len(data)) || res.Files != len(want) || len(res.Warnings) != 0 {
		t.Errorf("result size %d files %d warnings %q; want %d %d none", res.Size, res.Files, res.Warnings, len(data), len(want))
	}
	checkContribution(t, res.Measurement, data)
	for alg, d := range independent(data) {
		if !res.Digests[alg].Equal(d[0]) {
			t.Errorf("%v digest %s, want %x", alg, res.Digests[alg], d[0])
		}
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildTargetImageAndWarnings(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	res, err := Build(context.Background(), &buf, WithSlkitBinary(f.slkit), WithRun("pcr", "read", "8"),
		WithOnFailure(Reboot), WithDebugShell(true), WithPolicy(f.policy, f.pub))
	if err != nil {
		t.Fatal(err)
	}
	recs := readImage(t, buf.Bytes())
	cfg, err := ParseConfig([]byte(content(t, recs, "etc/slkit/init.json")))
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Config{Version: 1, Run: []string{"pcr", "read", "8"}, OnFailure: Reboot, DebugShell: true}); !reflect.DeepEqual(cfg, want) {
		t.Errorf("init.json = %+v, want %+v", cfg, want)
	}
	if len(res.Warnings) != 2 || !strings.Contains(res.Warnings[0], "/boot/vmlinuz") || !strings.Contains(res.Warnings[1], "/boot/initrd.img") {
		t.Errorf("warnings %q, want the policy's two missing images", res.Warnings)
	}
	if _, ok := find(recs, "lib/modules"); ok {
		t.Error("lib/modules without modules")
	}
}

func TestBuildBadInput(t *testing.T) {
	f := newFixture(t)
	otherPolicy, otherPub := f.signedPolicy(t, "/boot/vmlinuz", "/boot/initrd.img")
	notELF := f.write(t, "bad.ko", []byte("not a module"), 0o644)
	wrongExt := f.write(t, "mod.o", []byte("\x7fELF"), 0o644)
	noRead := f.write(t, "noread", []byte("x"), 0o000)
	base := []Option{WithSlkitBinary(f.slkit), WithPolicy(f.policy, f.pub)}
	cases := map[string][]Option{
		"missing add source":     {WithPayload(Payload{Src: filepath.Join(f.dir, "nope"), Dst: "/boot/x"})},
		"add source is a dir":    {WithPayload(Payload{Src: f.dir, Dst: "/boot/x"})},
		"relative DST":           {WithPayload(Payload{Src: f.kernel, Dst: "boot/vmlinuz"})},
		"duplicate DST":          {WithPayload(Payload{Src: f.kernel, Dst: "/boot/vmlinuz"}), WithPayload(Payload{Src: f.initrd, Dst: "/boot/vmlinuz"})},
		"DST inside a payload":   {WithPayload(Payload{Src: f.kernel, Dst: "/boot"}), WithPayload(Payload{Src: f.initrd, Dst: "/boot/x"})},
		"reserved DST":           {WithPayload(Payload{Src: f.kernel, Dst: "/init"})},
		"missing policy":         {WithPolicy(filepath.Join(f.dir, "nope"), f.pub)},
		"policy is a dir":        {WithPolicy(f.dir, f.pub)},
		"policy unreadable":      {WithPolicy(noRead, f.pub)},
		"policy without key":     {WithPolicy(f.policy, "")},
		"key without policy":     {WithPolicy("", f.pub)},
		"policy under wrong key": {WithPolicy(f.policy, otherPub)},
		"key is not a key":       {WithPolicy(otherPolicy, f.policy)},
		"module not ELF":         {WithModule(notELF)},
		"module extension":       {WithModule(wrongExt)},
		"module twice":           {WithModule(f.koPlain), WithModule(f.koPlain)},
		"slkit not ELF":          {WithSlkitBinary(f.kernel)},
		"no policy, no run":      {WithPolicy("", "")},
		"bad failure action":     {WithOnFailure("shell")},
		"NUL in run":             {WithRun("launch\x00")},
		"no source":              {WithSlkitBinary(""), WithSource(f.dir)},
	}
	if os.Geteuid() == 0 {
		delete(cases, "policy unreadable") // root reads mode 0000 files
	}
	outDir := t.TempDir()
	existing := filepath.Join(outDir, "keep.cpio")
	os.WriteFile(existing, []byte("old"), 0o644)
	for name, extra := range cases {
		opts := append(append([]Option(nil), base...), extra...)
		out := filepath.Join(outDir, "out.cpio")
		res, err := BuildFile(context.Background(), out, opts...)
		if !errors.Is(err, ErrInput) || res != nil {
			t.Errorf("%s: got %v, want ErrInput", name, err)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
		if _, err := BuildFile(context.Background(), existing, opts...); !errors.Is(err, ErrInput) {
			t.Errorf("%s: over an existing file: %v", name, err)
		}
	}
	noLeftovers(t, outDir, "keep.cpio")
	if b := mustRead(t, existing); string(b) != "old" {
		t.Errorf("existing output changed to %q", b)
	}
}

func TestBuildFailureLeavesNothing(t *testing.T) {
	f := newFixture(t)
	outDir := t.TempDir()
	// The go command fails: a build error after the output's temp file
	// was created.
	_, err := BuildFile(context.Background(), filepath.Join(outDir, "x.cpio"),
		WithPolicy(f.policy, f.pub), WithGo(filepath.Join(f.dir, "no-such-go")))
	if !errors.Is(err, ErrBuild) {
		t.Fatalf("got %v, want ErrBuild", err)
	}
	noLeftovers(t, outDir)
}

// TestBuildMinimalReproducible builds slkit from source twice, with
// different scratch directories, and checks the bytes are the same and
// the binary carries no build ID, no VCS stamp and no host path.
func TestBuildMinimalReproducible(t *testing.T) {
	f := newFixture(t)
	img, tmps := buildTwice(t, WithPolicy(f.policy, f.pub), WithPayload(Payload{Src: f.kernel, Dst: "/boot/vmlinuz"}))
	bin := []byte(content(t, readImage(t, img), "init"))
	checkStaticBinary(t, bin, tmps...)
}

// buildTwice builds the same image twice, each with its own scratch
// directory, checks the bytes are identical and nothing is left in the
// scratch directories, and returns the image and the directories.
func buildTwice(t *testing.T, opts ...Option) ([]byte, []string) {
	t.Helper()
	var imgs [2][]byte
	var tmps []string
	for i := range imgs {
		tmp := t.TempDir()
		tmps = append(tmps, tmp)
		var buf bytes.Buffer
		if _, err := Build(context.Background(), &buf, append(opts, WithTempDir(tmp))...); err != nil {
			t.Fatal(err)
		}
		imgs[i] = buf.Bytes()
		noLeftovers(t, tmp)
	}
	if !bytes.Equal(imgs[0], imgs[1]) {
		t.Fatalf("two builds differ (%d and %d bytes)", len(imgs[0]), len(imgs[1]))
	}
	return imgs[0], tmps
}

func checkStaticBinary(t *testing.T, bin []byte, tmps ...string) {
	t.Helper()
	src, err := FindSource("")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(tmps, src) {
		if bytes.Contains(bin, []byte(p)) {
			t.Errorf("binary contains host path %s", p)
		}
	}
	e, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	if s := e.Section(".note.go.buildid"); s != nil && s.Size > 16 {
		t.Errorf("binary has a Go build ID note (%d bytes)", s.Size)
	}
	if s := e.Section(".interp"); s != nil {
		t.Error("binary is dynamically linked (has .interp)")
	}
	if s := e.Section(".symtab"); s != nil {
		t.Error("binary has a symbol table (not built with -s)")
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["-trimpath"] != "true" || settings["CGO_ENABLED"] != "0" || settings["GOOS"] != "linux" {
		t.Errorf("build settings %v, want -trimpath=true CGO_ENABLED=0 GOOS=linux", settings)
	}
	if settings["-tags"] != ImageBuildTag {
		t.Errorf("build tags %q, want %q (an image's slkit leaves out the host-only commands)", settings["-tags"], ImageBuildTag)
	}
	exe := filepath.Join(t.TempDir(), "slkit")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	help, err := exec.Command(exe, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("image binary --help: %v\n%s", err, help)
	}
	for _, host := range []string{"\n   rig ", "\n   initramfs "} {
		if strings.Contains(string(help), host) {
			t.Errorf("image binary has the host-only command %q:\n%s", strings.TrimSpace(host), help)
		}
	}
	if !strings.Contains(string(help), "\n   launch ") {
		t.Errorf("image binary --help lists no launch command:\n%s", help)
	}
	for k := range settings {
		if strings.HasPrefix(k, "vcs") {
			t.Errorf("binary has VCS stamp %s", k)
		}
	}
}

func TestMkuimageInvocation(t *testing.T) {
	got := mkuimageArgs("/abs/tmp", "/abs/out.cpio", "slkit init", false, fullPackages(true))
	want := []string{"tool", "mkuimage", "-tmp-dir", "/abs/tmp", "-o", "/abs/out.cpio", "-initcmd=init", "-defaultsh=", "-uinitcmd=slkit init", "-go-build-tags=slkit_image",
		urootCore + "init", urootCore + "gosh", urootCore + "ls", urootCore + "cat", urootCore + "dmesg", urootCore + "mount", urootCore + "kexec", "./cmd/slkit"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mkuimage args\n got %q\nwant %q", got, want)
	}
	got = mkuimageArgs("/t", "/o", "/bin/slkit init", true, fullPackages(false))
	if got[7] != "-defaultsh=gosh" || got[8] != "-uinitcmd=/bin/slkit init" || got[len(got)-1] != urootCore+"kexec" {
		t.Errorf("debug shell / prebuilt slkit: %q", got)
	}
}

func TestMerge(t *testing.T) {
	theirs := []cpio.Record{cpio.Directory("tmp", 0o777), cpio.CharDev("dev/console", 0o600, 5, 1), cpio.StaticFile("bbin/bb", "x", 0o755)}
	ours := []cpio.Record{cpio.Directory("tmp", 0o1777), cpio.CharDev("dev/console", 0o600, 5, 1), cpio.StaticFile("etc/slkit/init.json", "{}", 0o644)}
	got, err := merge(theirs, ours)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].Mode != cpio.S_IFDIR|0o1777 {
		t.Errorf("merge = %v", got)
	}
	for _, clash := range []cpio.Record{cpio.StaticFile("bbin/bb", "y", 0o755), cpio.CharDev("dev/console", 0o600, 4, 64), cpio.StaticFile("tmp", "", 0o644)} {
		if _, err := merge(theirs, []cpio.Record{clash}); !errors.Is(err, ErrInput) {
			t.Errorf("clash with %s: got %v, want ErrInput", clash.Name, err)
		}
	}
}

// TestBuildFullReproducible runs mkuimage twice (about a minute each on
// two cores) and checks the images are identical and laid out as a full
// image must be.
func TestBuildFullReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("full image builds take minutes; run without -short")
	}
	f := newFixture(t)
	img, tmps := buildTwice(t, WithFull(true), WithPolicy(f.policy, f.pub),
		WithPayload(Payload{Src: f.kernel, Dst: "/boot/vmlinuz"}), WithModule(f.koPlain))
	recs := readImage(t, img)
	for _, c := range FullCommands() {
		if r, ok := find(recs, "bbin/"+c); !ok || content(t, recs, "bbin/"+c) != "bb" || r.Mode&cpio.S_IFMT != cpio.S_IFLNK {
			t.Errorf("bbin/%s is not a link to the busybox", c)
		}
	}
	for name, target := range map[string]string{"init": "bbin/init", "bin/uinit": "../bbin/slkit", "etc/uinit.flags": "\"init\""} {
		if got := content(t, recs, name); got != target {
			t.Errorf("%s = %q, want %q", name, got, target)
		}
	}
	for _, sh := range []string{"bin/defaultsh", "bin/sh"} {
		if _, ok := find(recs, sh); ok {
			t.Errorf("%s exists in an image without --debug-shell", sh)
		}
	}
	for _, n := range []string{"etc/slkit/init.json", "etc/slkit/policy.json", "boot/vmlinuz", "lib/modules/a.ko", "dev/console"} {
		if _, ok := find(recs, n); !ok {
			t.Errorf("%s missing", n)
		}
	}
	if r, _ := find(recs, "tmp"); r.Mode != cpio.S_IFDIR|0o1777 {
		t.Errorf("tmp mode %#o, want 041777 (ours, not mkuimage's)", r.Mode)
	}
	bb := []byte(content(t, recs, "bbin/bb"))
	checkStaticBinary(t, bb, tmps...)
}
