package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

func TestCLIEFIMountUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"efi", "mount", "--dir", "/run/disk"}, "--device is required"},
		{[]string{"efi", "mount", "--device", "nvme0n1", "--dir", "/run/disk"}, `--device "nvme0n1": want an absolute, clean path`},
		{[]string{"efi", "mount", "--device", "/dev/nvme0n1", "--dir", "/"}, `--dir "/"`},
		{[]string{"efi", "mount", "--device", "/dev/nvme0n1", "--dir", "/run/../etc"}, `--dir "/run/../etc"`},
	} {
		r := runSlkit(t, nil, c.args...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d %q", c.args, r.code, r.stderr)
		}
	}
}

// TestCLIEFIQueueExpectCurrent: --expect-current makes the value the
// variable holds when the change is queued its precondition: the append
// applies to exactly that value, and is refused after another change.
func TestCLIEFIQueueExpectCurrent(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "efi.key"), filepath.Join(dir, "efi.pub")
	jr := filepath.Join(dir, "journal")
	st := efitest.New(efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}))
	runEFI(t, st, "", "efi", "keygen", "--out", key, "--pub", pub)
	bootOrder := "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c"
	if r := runEFI(t, st, "", "efi", "queue", "append", bootOrder, "--hex", "0300", "--expect-current", "--key", key, "--journal", jr); r.code != 0 {
		t.Fatalf("queue: %d %s", r.code, r.stderr)
	}
	r := runEFI(t, st, "", "efi", "queue", "list", "--journal", jr)
	if want := fmt.Sprintf("if sha256:%x", sha256.Sum256([]byte{1, 0})); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("list: %d %q, want the precondition %s", r.code, r.stdout, want)
	}
	if r := runEFI(t, st, "", "efi", "commit", "--journal", jr, "--pub", pub); r.code != 0 {
		t.Fatalf("commit: %d %s", r.code, r.stderr)
	}
	if _, v, _ := st.Value(efi.BootOrder); !bytes.Equal(v, []byte{1, 0, 3, 0}) {
		t.Fatalf("BootOrder % x, want 01 00 03 00", v)
	}
	// Queued against 0100 but the variable changed before the commit.
	jr2 := filepath.Join(dir, "journal2")
	runEFI(t, st, "", "efi", "queue", "append", bootOrder, "--hex", "0400", "--expect-current", "--key", key, "--journal", jr2)
	st.Put(efi.BootOrder, efi.DefaultAttr, []byte{9, 0})
	runEFI(t, st, "", "efi", "commit", "--journal", jr2, "--pub", pub)
	if _, v, _ := st.Value(efi.BootOrder); !bytes.Equal(v, []byte{9, 0}) {
		t.Fatalf("BootOrder % x: the append applied although its precondition no longer held", v)
	}
}
