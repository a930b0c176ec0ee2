package update_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/slkit/slkit/efi/efitest/crashfs"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

// prepareCrashSeeds is how many random power losses
// TestPrepareCrashKeepsSecret simulates.
const prepareCrashSeeds = 100

// TestPrepareCrashKeepsSecret cuts the power at a random file-system
// operation of `update prepare` writing the update object into a sealed
// file (through tpm.WriteSealed, the atomic writer the EFI journal uses),
// with a random choice of what the crash keeps. After every crash the file
// must parse and its main object must still release the secret; a Prepare
// that returned success must have left the update object durably. A
// writer without the fsyncs goes wrong in some trials (the negative
// control shows the simulation would catch it).
func TestPrepareCrashKeepsSecret(t *testing.T) {
	tt := tpmtest.Open(t)
	extend(t, tt, 1, "BootOrder 0000")
	if _, _, err := tpm.OpenOrDefineAnchor(tt, tpm.DefaultCounterIndex); err != nil { // the pre-launch stage's
		t.Fatal(err)
	}
	extend(t, tt, 8, "launch")
	secret := []byte("crash-proof disk key")
	pol, err := tpm.CurrentPolicy(tt, tpm.SHA256, []int{1, 8})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpm.Seal(tt, secret, pol)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := s.Marshal()
	const path = "/var/lib/slkit/disk.sealed"

	// trial runs Prepare on a fresh disk holding the sealed file, with
	// the power lost at its k-th file-system operation (or, when it has
	// fewer, right after it returned), and says what is wrong with what
	// the disk keeps ("" when nothing is).
	trial := func(r *rand.Rand, k int, write func(fsys.FS, *tpm.Sealed) error) (ops int, problem string) {
		disk := crashfs.New()
		disk.Put(path, orig)
		disk.CrashAfter(k)
		parsed, err := tpm.ParseSealed(orig)
		if err != nil {
			t.Fatal(err)
		}
		_, perr := update.Prepare(tt, parsed, func(u *tpm.Sealed) error { return write(disk, u) }, update.WithChangedPCRs(1))
		ops = disk.Ops()
		if r != nil && r.IntN(2) == 0 {
			disk.Crash(r)
		} else {
			disk.Crash(nil)
		}
		b, err := disk.ReadFile(path, tpm.MaxSealedSize)
		if err != nil {
			return ops, "the sealed file is gone: " + err.Error()
		}
		got, err := tpm.ParseSealed(b)
		if err != nil {
			return ops, "the sealed file does not parse: " + err.Error()
		}
		if out, err := tpm.Unseal(tt, got); err != nil || !bytes.Equal(out, secret) {
			return ops, fmt.Sprintf("the main object no longer releases the secret: %v", err)
		}
		if perr == nil && got.Update == nil {
			return ops, "Prepare returned success but the update object is not on disk"
		}
		return ops, ""
	}
	atomic := func(d fsys.FS, u *tpm.Sealed) error { return tpm.WriteSealed(d, path, u) }
	total, problem := trial(nil, 1<<30, atomic)
	if problem != "" || total == 0 {
		t.Fatalf("without a crash: %s (%d operations)", problem, total)
	}
	for seed := uint64(0); seed < prepareCrashSeeds; seed++ {
		r := rand.New(rand.NewPCG(seed, 0xc0ffee))
		if _, problem := trial(r, 1+r.IntN(total+1), atomic); problem != "" {
			t.Fatalf("seed %d: %s", seed, problem)
		}
	}
	sloppy := func(d fsys.FS, u *tpm.Sealed) error {
		b, _ := u.Marshal()
		f, err := d.CreateTemp("/var/lib/slkit", ".sloppy-*", 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(b); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return d.Rename(f.Name(), path)
	}
	sloppyTotal, _ := trial(nil, 1<<30, sloppy)
	bad := 0
	for seed := uint64(0); seed < prepareCrashSeeds; seed++ {
		r := rand.New(rand.NewPCG(seed, 0xbad))
		if _, problem := trial(r, 1+r.IntN(sloppyTotal+1), sloppy); problem != "" {
			bad++
		}
	}
	if bad == 0 {
		t.Fatal("negative control: a writer without fsync never lost the secret; the simulation catches nothing")
	}
	t.Logf("%d crash points over %d operations: the secret always survived; without the fsyncs, %d of %d trials went wrong", prepareCrashSeeds, total, bad, prepareCrashSeeds)
}
