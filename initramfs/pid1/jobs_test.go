package pid1

import (
	"reflect"
	"strings"
	"testing"

	"github.com/slkit/slkit/initramfs"
)

// runCalls are the fake's calls from the first run step on.
func runCalls(f *fakeSystem) []string {
	for i, c := range f.calls {
		if strings.HasPrefix(c, "run ") {
			return f.calls[i:]
		}
	}
	return nil
}

// TestRefusedStep: a step marked "!" passes only when the command is
// refused (exit 1 or 3), and its refusal is printed; success or another
// failure fails the run.
func TestRefusedStep(t *testing.T) {
	cfg := initramfs.Config{Run: []string{"pcr", "read"}, Then: [][]string{{"!", "unseal", "/other"}, {"pcr", "read", "17"}}}
	for _, tc := range []struct {
		exit    Exit
		ok      bool
		console string
	}{
		{Exit{Code: 3}, true, "slkit: running slkit unseal /other (must be refused)\nslkit: refused, as it must be: slkit unseal exited with status 3: unseal refused: PCR 18 differs\n"},
		{Exit{Code: 1}, true, "slkit: refused, as it must be: slkit unseal exited with status 1"},
		{Exit{Code: 0}, false, "slkit: result=fail reason=slkit unseal succeeded, but it must be refused\n"},
		{Exit{Code: 2}, false, "slkit: result=fail reason=slkit unseal exited with status 2, but it must be refused (status 1 or 3): unseal refused: PCR 18 differs\n"},
		{Exit{Code: -1, Signal: "SIGSEGV"}, false, "reason=slkit unseal was killed by signal SIGSEGV, but it must be refused"},
	} {
		f := newFake(config(t, cfg))
		f.runExits = map[string]Exit{"slkit unseal /other": tc.exit}
		f.runErr = "slkit: unseal refused: PCR 18 differs\n"
		out, err := run(t, f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, tc.console) || strings.Contains(out, "result=ok") != tc.ok {
			t.Errorf("exit %v: console:\n%s\nwant %q, ok %v", tc.exit, out, tc.console, tc.ok)
		}
		ran17 := strings.Contains(strings.Join(f.calls, "\n"), "run slkit pcr read 17")
		if ran17 != tc.ok {
			t.Errorf("exit %v: the next step ran: %v", tc.exit, ran17)
		}
	}
}

// TestJobs: after the image's steps, the job named by the request file's
// first line runs; the request file is rewritten without it (removed when
// empty) before the job's first step; the job's on_success ends the run.
// An unknown or oversized request fails the run and leaves the file.
func TestJobs(t *testing.T) {
	const req = "/run/disk/jobs"
	cfg := initramfs.Config{Run: []string{"efi", "mount"}, Then: [][]string{{"unseal", "/s"}}, JobRequest: req,
		Jobs: map[string]initramfs.Job{
			"update": {Steps: [][]string{{"efi", "queue", "set", "X"}}, OnSuccess: initramfs.Reboot},
			"leave":  {Steps: [][]string{{"drtm", "leave"}, {"!", "unseal", "/s"}}},
		}}
	f := newFake(config(t, cfg))
	f.files[req] = "update\n\nleave\n"
	out, err := run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"run slkit efi mount", "run slkit unseal /s", `replace /run/disk/jobs "leave\n"`, "run slkit efi queue set X", "reboot reboot"}
	if got := runCalls(f); !reflect.DeepEqual(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if !strings.Contains(out, "slkit: phase=job") || !strings.Contains(out, "slkit: job update requested in /run/disk/jobs (1 more queued there)\n") {
		t.Errorf("console:\n%s", out)
	}
	// The next boot takes the last job (whose second step must be, and is,
	// refused); the file goes; the image's default action (power off)
	// ends it.
	f.calls = nil
	f.runExits = map[string]Exit{"slkit unseal /s": {Code: 3}}
	cfg2 := cfg
	cfg2.Then = nil
	f.files[initramfs.ConfigPath] = config(t, cfg2)
	out, err = run(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if got := runCalls(f); !reflect.DeepEqual(got, []string{"run slkit efi mount", `replace /run/disk/jobs ""`,
		"run slkit drtm leave", "run slkit unseal /s", "reboot poweroff"}) || f.Exists(req) || !strings.Contains(out, "result=ok") {
		t.Errorf("second boot calls %q (request file left: %v)\n%s", got, f.Exists(req), out)
	}
	f.files[initramfs.ConfigPath] = config(t, cfg)
	f.runExits = nil
	// No request: no job.
	f.calls = nil
	if _, err := run(t, f); err != nil {
		t.Fatal(err)
	}
	if got := runCalls(f); !reflect.DeepEqual(got, []string{"run slkit efi mount", "run slkit unseal /s", "reboot poweroff"}) {
		t.Errorf("no request: calls %q", got)
	}
	for _, bad := range []struct{ content, reason string }{
		{"rm-rf\n", `reason=job request /run/disk/jobs: bad initramfs input: job "rm-rf" is not one of this image's jobs (leave, update)`},
		{strings.Repeat("update\n", 1000), "reason=job request /run/disk/jobs: 7000 bytes (at most 4096)"},
	} {
		f := newFake(config(t, cfg))
		f.files[req] = bad.content
		out, err := run(t, f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, bad.reason) || f.files[req] != bad.content || strings.Contains(strings.Join(f.calls, "\n"), "queue") {
			t.Errorf("request %.20q: console\n%s", bad.content, out)
		}
	}
}
