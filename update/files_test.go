package update_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

// sealedFile seals secret to pcrs into a file in dir, as `slkit seal`
// writes it, and reads it back.
func sealedFile(t *testing.T, tt tpm.TPMSender, dir, name string, secret []byte, pcrs ...int) update.File {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := tpm.WriteSealed(fsys.OS{}, path, sealTo(t, tt, secret, pcrs...).s); err != nil {
		t.Fatal(err)
	}
	return readFile(t, path)
}

func readFile(t *testing.T, path string) update.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpm.ParseSealed(b)
	if err != nil {
		t.Fatal(err)
	}
	return update.File{Name: path, Sealed: s}
}

// TestFiles runs the whole update over two files on disk: each file is
// replaced by PrepareFiles and FinishFiles, Statuses reports each, and
// their texts name the file on every line.
func TestFiles(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	boot(t, tt, "firmware, BootOrder 0001", "launch", true)
	a := sealedFile(t, tt, dir, "a.sealed", []byte("secret a"), 0, 8)
	b := sealedFile(t, tt, dir, "b.sealed", []byte("secret b"), 8)

	plans, err := update.PrepareFiles(tt, fsys.OS{}, []update.File{a, b}, update.WithChangedPCRs(0))
	if err != nil || len(plans) != 2 || plans[0].File != a.Name || plans[0].Window == nil || plans[1].Unchanged == "" {
		t.Fatalf("PrepareFiles: %v %+v", err, plans)
	}
	if readFile(t, a.Name).Sealed.Update == nil || readFile(t, b.Name).Sealed.Update != nil {
		t.Fatal("the prepared file on disk: an update object for a only")
	}
	p := &update.Prepared{Journal: &update.Pending{Generation: 3, Entries: 1, Pending: 1}, Files: plans,
		Firmware: &nextboot.Report{Log: "fw.bin", Changed: []int{1}}}
	text := p.Text("j", "from X")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 4 || lines[0] != "journal j: generation 3, 1 of 1 entries pending, signature not checked (give --pub)" ||
		lines[1] != "next boot predicted from fw.bin: PCRs 1 change" ||
		!strings.HasPrefix(lines[2], a.Name+": update object sealed to sha256 PCRs 8,9") || !strings.HasPrefix(lines[3], b.Name+": unchanged: ") {
		t.Errorf("Prepared.Text:\n%s", text)
	}

	a = readFile(t, a.Name)
	boot(t, tt, "firmware, BootOrder 0002,0001", "launch", true)
	reps, err := update.Statuses(tt, []update.File{a, b})
	if err != nil || len(reps) != 2 || reps[0].Unseals != "update" || reps[1].Unseals != "main" || reps[0].File != a.Name {
		t.Fatalf("Statuses: %v %+v", err, reps)
	}
	done, err := update.FinishFiles(tt, fsys.OS{}, []update.File{a, b})
	if err != nil || len(done) != 2 || !done[0].ByUpdate || done[1].ByUpdate {
		t.Fatalf("FinishFiles: %v %+v", err, done)
	}
	if got := done[0].Text(); strings.Count(got, "\n") != 2 || !strings.HasPrefix(got, a.Name+": resealed to the current PCRs 0,8 (the update object released the secret") ||
		!strings.Contains(got, "\n"+a.Name+": update window: counter 0x0180534c in ") {
		t.Errorf("FinishedFile.Text: %q", got)
	}
	if got, want := done[1].Text(), b.Name+": resealed to the current PCRs 8 (the main object released the secret)\n"; got != want {
		t.Errorf("FinishedFile.Text: %q, want %q", got, want)
	}
	if readFile(t, a.Name).Sealed.Update != nil {
		t.Error("finish left the update object on disk")
	}

	// A refused file is reported with the others; the error names it.
	boot(t, tt, "other firmware", "other launch", true)
	reps, err = update.Statuses(tt, []update.File{readFile(t, a.Name), readFile(t, b.Name)})
	if len(reps) != 2 || reps[0].Unseals != "" || !errors.Is(err, tpm.ErrPCRMismatch) || !strings.HasPrefix(err.Error(), a.Name+": ") {
		t.Fatalf("Statuses after a change: %v %+v", err, reps)
	}
	if _, err := update.FinishFiles(tt, fsys.OS{}, []update.File{readFile(t, b.Name)}); err == nil || !strings.HasPrefix(err.Error(), b.Name+": ") {
		t.Fatalf("FinishFiles of a refused file: %v", err)
	}
}
