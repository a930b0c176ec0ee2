package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmptyPathNamesItsFlag: a path flag given as "" is refused with one
// line naming the flag, exit 1, before anything is read or opened.
func TestEmptyPathNamesItsFlag(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "k")
	os.WriteFile(k, []byte("kernel"), 0o644)
	for _, args := range [][]string{
		{"predict", "--kernel", "", "--cmdline", "x"},
		{"predict", "--kernel", k, "--initrd", "", "--cmdline", "x"},
		{"predict", "--kernel", k, "--cmdline", "x", "--policy", ""},
		{"measure", "--kernel", "", "--cmdline", "x"},
		{"launch", "--policy", "", "--policy-key", k},
		{"seal", "--pcrs", "8", "--in", "", "--out", filepath.Join(dir, "s")},
		{"unseal", k, "--eventlog", ""},
		{"unseal", k, "--eventlog", k, "--eventlog", ""},
		{"drtm", "stage", "--backend", "emulated", "--kernel", k, "--out", ""},
		{"drtm", "verify", "--log", ""},
		{"eventlog", "show", "--json", "--", ""},
		{"policy", "keygen", "--out", ""},
		{"efi", "queue", "set", "A-12345678-1234-1234-1234-123456789abc", "--hex", "00", "--key", "", "--journal", k},
		{"update", "status", "--sealed", ""},
		{"initramfs", "build", "-o", ""},
	} {
		r := runSlkit(t, nil, args...)
		flag := ""
		for i, a := range args {
			if a == "" && i > 0 && strings.HasPrefix(args[i-1], "-") {
				flag = args[i-1]
			}
		}
		if flag == "-o" {
			flag = "--out"
		}
		if flag == "--" {
			// A positional argument: the command names it its own way.
			if r.code != 1 || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%q: exit %d %q", args, r.code, r.stderr)
			}
			continue
		}
		if want := "slkit: " + flag + ": empty path\n"; r.code != 1 || r.stderr != want {
			t.Errorf("%q: exit %d %q, want 1 %q", args, r.code, r.stderr, want)
		}
	}
}

// TestImageErrorNamesItsInputOnce: a kernel that is not a bzImage is
// named once, by its flag and path, whatever the file is called (a file
// named "kernel" gave "kernel: kernel: at byte offset …").
func TestImageErrorNamesItsInputOnce(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "kernel")
	os.WriteFile(k, []byte(strings.Repeat("not a kernel\n", 100)), 0o644)
	want := "slkit: --kernel " + k + `: at byte offset 0x202: no "HdrS" boot header: not an x86 bzImage` + "\n"
	for _, args := range [][]string{
		{"predict", "--drtm", "emulated", "--kernel", k, "--cmdline", ""},
		{"drtm", "stage", "--backend", "emulated", "--kernel", k, "--out", filepath.Join(dir, "stage")},
	} {
		if r := runSlkit(t, nil, args...); r.code != 1 || r.stderr != want {
			t.Errorf("%q: exit %d %q, want %q", args, r.code, r.stderr, want)
		}
	}
}
