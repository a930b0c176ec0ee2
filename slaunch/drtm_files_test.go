package slaunch_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/slaunch"
)

// TestReadLaunchLog: a missing log is no error but a verdict that says
// so; an empty one is an input error naming it; without an explicit log
// a securityfs log is preferred.
func TestReadLaunchLog(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	l, err := slaunch.ReadLaunchLog(missing, filepath.Join(dir, "nosfs"), false)
	if err != nil || l.Log != nil || l.Name != missing {
		t.Fatalf("a missing log: %+v %v", l, err)
	}
	refused := errors.New("no launch")
	if err := l.Verdict(refused); !errors.Is(err, refused) || !strings.Contains(err.Error(), "no DRTM log: "+missing+" does not exist") {
		t.Errorf("the verdict on a missing log: %v", err)
	}
	if err := l.Verdict(nil); err != nil {
		t.Errorf("no verdict: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	var ie *fsys.InputError
	if _, err := slaunch.ReadLaunchLog(empty, dir, true); !errors.As(err, &ie) || ie.Path != empty {
		t.Errorf("an empty log: %v", err)
	}
	sfs := filepath.Join(dir, "sfs")
	os.MkdirAll(sfs, 0o755)
	os.WriteFile(filepath.Join(sfs, "eventlog"), nil, 0o600)
	if _, err := slaunch.ReadLaunchLog(missing, sfs, false); !errors.As(err, &ie) || ie.Path != filepath.Join(sfs, "eventlog") {
		t.Errorf("the securityfs log first: %v", err)
	}
}

// TestProbeAndSave: the recording saved by a probe of a recorded platform
// probes the same.
func TestProbeAndSave(t *testing.T) {
	p, err := slaunch.OpenPlatform(filepath.Join("testdata", "platforms", "txt-ready.json"))
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "rec.json")
	s, err := slaunch.ProbeAndSave(p, saved)
	if err != nil {
		t.Fatal(err)
	}
	again, err := slaunch.OpenPlatform(saved)
	if err != nil {
		t.Fatal(err)
	}
	if s2, err := slaunch.ProbeAndSave(again, ""); err != nil || s2.Text() != s.Text() {
		t.Errorf("the saved recording probes differently:\n%s\n%s", s.Text(), s2.Text())
	}
}

// TestLeftWriteLog: the log is written, its directory created, also after
// a failed leave; a failure to create the directory or to write is
// joined with the leave's error, never in its place.
func TestLeftWriteLog(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hostErr := errors.New("the rig host did not take the leave")
	left := &slaunch.Left{Log: []byte("log with leave events")}
	for _, c := range []struct {
		name    string
		left    *slaunch.Left
		path    string
		leave   error
		written bool
		want    []string // the returned error's text contains each; none: the leave's error
	}{
		{name: "written", left: left, path: filepath.Join(dir, "new", "sub", "left.bin"), written: true},
		{name: "written after the host failed", left: left, path: filepath.Join(dir, "host.bin"), leave: hostErr, written: true,
			want: []string{hostErr.Error()}},
		{name: "nothing left", path: filepath.Join(dir, "none.bin"), leave: hostErr, want: []string{hostErr.Error()}},
		{name: "no log", left: &slaunch.Left{}, path: filepath.Join(dir, "none.bin"), leave: hostErr, want: []string{hostErr.Error()}},
		{name: "no directory", left: left, path: filepath.Join(notDir, "sub", "left.bin"), leave: hostErr,
			want: []string{hostErr.Error(), "not a directory"}},
		{name: "no directory, leave done", left: left, path: filepath.Join(notDir, "sub", "left.bin"), want: []string{"not a directory"}},
		{name: "cannot write", left: left, path: filepath.Join(dir), leave: hostErr, want: []string{hostErr.Error(), dir}},
	} {
		err := c.left.WriteLog(c.path, c.leave)
		if len(c.want) == 0 && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want it to say %q", c.name, err, w)
			}
		}
		if c.leave != nil && !errors.Is(err, c.leave) {
			t.Errorf("%s: %v does not keep the leave's error", c.name, err)
		}
		b, rerr := os.ReadFile(c.path)
		if got := rerr == nil && string(b) == string(left.Log); got != c.written {
			t.Errorf("%s: written %v, want %v", c.name, got, c.written)
		}
	}
}
