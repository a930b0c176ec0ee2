package launch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// TestDRTMRequest: a backend's values only with it, the hardware
// backend's files read before anything happens, WithDRTM of the backend.
func TestDRTMRequest(t *testing.T) {
	dir := t.TempDir()
	dce := filepath.Join(dir, "acm.bin")
	if err := os.WriteFile(dce, []byte("not checked here"), 0o644); err != nil {
		t.Fatal(err)
	}
	platform := filepath.Join("..", "slaunch", "testdata", "platforms", "not-capable.json")
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		name    string
		req     DRTMRequest
		stage   bool   // an option that sets a backend
		want    string // the input error's text
		missing bool   // an *fsys.InputError naming missing
	}{
		{name: "none", req: DRTMRequest{}},
		{name: "emulated", req: DRTMRequest{Backend: "emulated"}, stage: true},
		{name: "emulated, host channel", req: DRTMRequest{Backend: "emulated", HostChannel: "/tmp/sock"}, stage: true},
		{name: "hardware", req: DRTMRequest{Backend: "hardware", DCE: dce, Platform: platform}, stage: true},
		{name: "host channel alone", req: DRTMRequest{HostChannel: "/dev/ttyS1"}, want: "launch: --host-channel needs --drtm emulated"},
		{name: "host channel, hardware", req: DRTMRequest{Backend: "hardware", DCE: dce, HostChannel: "x"},
			want: "launch: --host-channel needs --drtm emulated"},
		{name: "dce, emulated", req: DRTMRequest{Backend: "emulated", DCE: dce}, want: "launch: --dce needs --drtm hardware"},
		{name: "platform alone", req: DRTMRequest{Platform: platform}, want: "launch: --platform needs --drtm hardware"},
		{name: "hardware without dce", req: DRTMRequest{Backend: "hardware", Platform: platform}, want: "launch: --dce is required"},
		{name: "unknown", req: DRTMRequest{Backend: "teleport"}, want: `launch: --drtm "teleport": want emulated or hardware`},
		{name: "missing dce", req: DRTMRequest{Backend: "hardware", DCE: missing, Platform: platform}, missing: true},
		{name: "missing platform", req: DRTMRequest{Backend: "hardware", DCE: dce, Platform: missing}, missing: true},
	} {
		opts, err := c.req.Options()
		var in *fsys.InputError
		switch {
		case c.want != "":
			if err == nil || err.Error() != c.want || !errors.Is(err, errkind.Input) || opts != nil {
				t.Errorf("%s: %d options, %v; want %q (an input error)", c.name, len(opts), err, c.want)
			}
		case c.missing:
			if !errors.As(err, &in) || in.Path != missing {
				t.Errorf("%s: %v, want an input error naming %s", c.name, err, missing)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		default:
			var lc launchConfig
			for _, o := range opts {
				o(&lc)
			}
			if got := lc.hooks.StageDRTM != nil; got != c.stage || len(opts) > 1 {
				t.Errorf("%s: %d options, a backend: %v, want %v", c.name, len(opts), got, c.stage)
			}
		}
	}
}

// TestReadHandover: SRC:DST read into hand-over files in order; a
// malformed argument or a path outside HandoverDir is an input error
// naming the argument, a missing file an *fsys.InputError naming it.
func TestReadHandover(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for p, data := range map[string]string{a: "secret", b: ""} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := ReadHandover([]string{a + ":/slkit/a", b + ":/slkit/sub/b"})
	if err != nil || len(files) != 2 || files[0].Path != "/slkit/a" || string(files[0].Data) != "secret" ||
		files[1].Path != "/slkit/sub/b" || len(files[1].Data) != 0 {
		t.Fatalf("ReadHandover = %+v, %v", files, err)
	}
	if files, err := ReadHandover(nil); files != nil || err != nil {
		t.Errorf("no arguments: %+v, %v", files, err)
	}
	for _, c := range []struct{ arg, want string }{
		{"no-colon", `--handover "no-colon": want SRC:DST`},
		{":/slkit/x", `--handover ":/slkit/x": want SRC:DST`},
		{a + ":/init", `--handover "` + a + `:/init": ` + `bad boot entry: hand-over path "/init": want a clean path of a file under /slkit/`},
		{a + ":/slkit/../init", `--handover "` + a + `:/slkit/../init": ` + `bad boot entry: hand-over path "/slkit/../init": want a clean path of a file under /slkit/`},
	} {
		_, err := ReadHandover([]string{a + ":/slkit/ok", c.arg})
		if err == nil || err.Error() != c.want || !errors.Is(err, errkind.Input) {
			t.Errorf("%q: %v, want %q (an input error)", c.arg, err, c.want)
		}
	}
	missing := filepath.Join(dir, "missing")
	var in *fsys.InputError
	if _, err := ReadHandover([]string{missing + ":/slkit/x"}); !errors.As(err, &in) || in.Path != missing {
		t.Errorf("missing file: %v, want an input error naming it", err)
	}
}
