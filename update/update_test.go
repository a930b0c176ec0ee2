package update_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

// file is a sealed file on "disk": save replaces it, as the CLI's atomic
// write does, after a round trip through the file format.
type file struct {
	t     *testing.T
	s     *tpm.Sealed
	saves int
}

func (f *file) save(s *tpm.Sealed) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	p, err := tpm.ParseSealed(b)
	if err != nil {
		f.t.Fatalf("saved file does not parse: %v", err)
	}
	f.s, f.saves = p, f.saves+1
	return nil
}

func extend(t *testing.T, tt tpm.TPMSender, pcr int, data string) {
	t.Helper()
	banks, _ := tpm.ActiveBanks(tt)
	if _, err := tpm.ExtendData(tt, pcr, banks, strings.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// boot resets the TPM and boots through the pre-launch stage: the
// firmware extends PCR 0 (standing for the variables the update changes)
// and PCR 9 (the EFI stub's measurement of the pre-launch image); the
// pre-launch stage, with PCR 8 still at its reset value, counts the launch
// on the update counter (defining it on first use), as `slkit launch
// --update-counter` does; the launch extends PCR 8.
func boot(t *testing.T, tt *tpmtest.TPM, firmware, launch string, increment bool) {
	t.Helper()
	if err := tt.Reboot(); err != nil {
		t.Fatal(err)
	}
	extend(t, tt, 0, firmware)
	extend(t, tt, 9, "pre-launch image")
	if increment {
		c, _, err := tpm.OpenOrDefineAnchor(tt, tpm.DefaultCounterIndex)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Increment(tt); err != nil {
			t.Fatal(err)
		}
	}
	extend(t, tt, 8, launch)
}

func sealTo(t *testing.T, tt tpm.TPMSender, secret []byte, pcrs ...int) *file {
	t.Helper()
	pol, err := tpm.CurrentPolicy(tt, tpm.SHA256, pcrs)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpm.Seal(tt, secret, pol)
	if err != nil {
		t.Fatal(err)
	}
	f := &file{t: t}
	f.save(s)
	f.saves = 0
	return f
}

func mustUnseal(t *testing.T, tt tpm.TPMSender, s *tpm.Sealed, secret []byte) tpm.UnsealInfo {
	t.Helper()
	var info tpm.UnsealInfo
	out, err := tpm.Unseal(tt, s, tpm.WithUnsealInfo(&info))
	if err != nil || !bytes.Equal(out, secret) {
		t.Fatalf("unseal: %v", err)
	}
	return info
}

// TestRebootUpdate is the firmware-reboot path of the README: a secret
// sealed to PCR 0 (standing for a PCR the queued changes are measured
// into) and 8 (launch) gets an update object without PCR 0, bound to the
// pre-launch stage's PCR 9 and to the next launch; after the update the
// main object is refused and the update object releases it; Finish
// reseals to the new values, and the next launch closes the window, so
// that every copy of the prepared file is useless.
func TestRebootUpdate(t *testing.T) {
	tt := tpmtest.Open(t)
	boot(t, tt, "firmware, BootOrder 0001", "launch", true)
	secret := []byte("disk key 0123456789abcdef")
	f := sealTo(t, tt, secret, 0, 8)

	plan, err := update.Prepare(tt, f.s, f.save, update.WithChangedPCRs(0))
	if err != nil {
		t.Fatal(err)
	}
	if f.saves != 1 || f.s.Update == nil || plan.Window == nil ||
		plan.Window.Min != plan.Counter+1 || plan.Window.Max != plan.Counter+1 ||
		!slices.Equal(plan.Dropped, []int{0}) || !slices.Equal(plan.PCRs, []int{8, 9}) || !slices.Equal(plan.Added, []int{9}) {
		t.Fatalf("plan %+v, saves %d", plan, f.saves)
	}
	prepared := f.s

	// Finishing before the update happened is refused: it would reseal to
	// the old firmware's PCR 0.
	if _, err := update.Finish(tt, f.s, f.save); !errors.Is(err, update.ErrNotUpdated) || !strings.Contains(err.Error(), "update window not open") {
		t.Fatalf("finish before the update: %v", err)
	}
	if f.saves != 1 {
		t.Fatal("a refused finish saved the file")
	}

	// The update: reboot into new firmware (the commit changed BootOrder).
	boot(t, tt, "firmware, BootOrder 0002,0001", "launch", true)
	info := mustUnseal(t, tt, f.s, secret)
	if !info.Update || !strings.Contains(info.Refusal.Error(), "PCR 0") {
		t.Fatalf("after the update: %+v", info)
	}
	fin, err := update.Finish(tt, f.s, f.save)
	if err != nil {
		t.Fatal(err)
	}
	if !fin.ByUpdate || fin.Window == nil || f.s.Update != nil || f.saves != 2 {
		t.Fatalf("finish %+v, update object still there: %v", fin, f.s.Update != nil)
	}
	if info := mustUnseal(t, tt, f.s, secret); info.Update {
		t.Fatal("after finish the main object is refused")
	}
	// The next launch closes the window: a copy of the prepared file (it
	// lives on an unencrypted disk) is useless, and the resealed file
	// works as a plain sealed file.
	boot(t, tt, "firmware, BootOrder 0002,0001", "launch", true)
	if out, err := tpm.Unseal(tt, prepared); out != nil || !strings.Contains(err.Error(), "update window closed") {
		t.Fatalf("old file after the next launch: %v", err)
	}
	mustUnseal(t, tt, f.s, secret)
}

// TestOtherMediaCannotUnseal: an OS booted from other media during the
// update window extends PCR 8 with the launch's public events. Nothing
// measured into its PCR 8 before it ran, so it can even count a launch on
// the update counter; but the firmware and the EFI stub measured its own
// image into PCR 9, which it cannot bring back to the pre-launch image's
// value: the update object is refused, before the post-update launch and
// after it (the power cut once the pre-launch stage opened the window).
// (Its count does close the window one launch early: with --launches 1
// the post-update launch then finds it closed — a denial of service, as
// deleting the sealed file from the disk is.)
func TestOtherMediaCannotUnseal(t *testing.T) {
	for _, when := range []string{"before the post-update launch", "after the post-update launch"} {
		t.Run(when, func(t *testing.T) {
			tt := tpmtest.Open(t)
			boot(t, tt, "firmware, BootOrder 0001", "launch", true)
			secret := []byte("disk key 0123456789abcdef")
			f := sealTo(t, tt, secret, 0, 8)
			if _, err := update.Prepare(tt, f.s, f.save, update.WithChangedPCRs(0), update.WithLaunches(2)); err != nil {
				t.Fatal(err)
			}
			after := when == "after the post-update launch"
			if after {
				boot(t, tt, "firmware, BootOrder 0002,0001", "launch", true)
				mustUnseal(t, tt, f.s, secret)
			}
			if err := tt.Reboot(); err != nil {
				t.Fatal(err)
			}
			extend(t, tt, 0, "firmware, BootOrder 0002,0001")
			extend(t, tt, 9, "live USB image")
			c, err := tpm.OpenCounter(tt, tpm.DefaultCounterIndex)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Increment(tt); err != nil {
				t.Fatal(err)
			}
			extend(t, tt, 8, "launch")
			out, err := tpm.Unseal(tt, f.s)
			if out != nil || !strings.Contains(err.Error(), "update object: PCR 9") {
				t.Fatalf("the other OS: %v", err)
			}
			if !after {
				// With a window of two launches the post-update launch
				// still works.
				boot(t, tt, "firmware, BootOrder 0002,0001", "launch", true)
				mustUnseal(t, tt, f.s, secret)
			}
		})
	}
}

// TestPrepareUnchanged: a secret sealed to PCR 8 only needs nothing for a
// firmware-variable change when the next entry is the same.
func TestPrepareUnchanged(t *testing.T) {
	tt := tpmtest.Open(t)
	extend(t, tt, 8, "launch")
	f := sealTo(t, tt, []byte("k"), 8)
	plan, err := update.Prepare(tt, f.s, f.save)
	if err != nil || plan.Unchanged == "" || f.saves != 0 {
		t.Fatalf("plan %+v, %v, saves %d", plan, err, f.saves)
	}
	if _, err := tpm.OpenCounter(tt, tpm.DefaultCounterIndex); !errors.Is(err, tpm.ErrNoCounter) {
		t.Fatalf("a counter was defined for nothing: %v", err)
	}
}

// TestPrepareFirmwarePCRs: a secret sealed to firmware PCRs only gets an
// update object bound to what the pre-launch stage measures and caps (PCRs
// 8 and 9) besides the PCRs the changes leave alone; through a kexec no
// firmware runs and nothing is left out.
func TestPrepareFirmwarePCRs(t *testing.T) {
	tt := tpmtest.Open(t)
	boot(t, tt, "fw", "launch", true)
	f := sealTo(t, tt, []byte("k"), 0, 7)
	plan, err := update.Prepare(tt, f.s, f.save, update.WithChangedPCRs(7, 1))
	if err != nil || !slices.Equal(plan.PCRs, []int{0, 8, 9}) || !slices.Equal(plan.Dropped, []int{7}) || plan.Window == nil {
		t.Fatalf("%+v %v", plan, err)
	}
	// Through a kexec no firmware runs: nothing is dropped, nothing to do.
	plan, err = update.Prepare(tt, f.s, f.save, update.WithVia(update.ViaKexec), update.WithChangedPCRs(7))
	if err != nil || plan.Unchanged == "" {
		t.Fatalf("kexec: %+v %v", plan, err)
	}
	// But PCR 8 is extended further by a kexec round trip: without a
	// prediction, refused.
	g := sealTo(t, tt, []byte("k"), 0, 8)
	if _, err := update.Prepare(tt, g.s, g.save, update.WithVia(update.ViaKexec)); !errors.Is(err, update.ErrPlan) || !strings.Contains(err.Error(), "PCR 8 is extended further") {
		t.Fatalf("kexec without a prediction: %v", err)
	}
}

// TestPrepareWithoutCounter: a window needs the counter the pre-launch
// stage defines; without it Prepare says so.
func TestPrepareWithoutCounter(t *testing.T) {
	tt := tpmtest.Open(t)
	h := sealTo(t, tt, []byte("k"), 0, 8)
	if _, err := update.Prepare(tt, h.s, h.save, update.WithChangedPCRs(0)); !errors.Is(err, update.ErrPlan) || !strings.Contains(err.Error(), "slkit launch --update-counter") {
		t.Fatalf("no counter: %v", err)
	}
}

// TestPrepareNextEntry forward-seals to the next entry's PCR 8: no window
// is needed (nothing is left out), and the launch of the next entry
// releases the secret through the update object.
func TestPrepareNextEntry(t *testing.T) {
	tt := tpmtest.Open(t)
	extend(t, tt, 8, "entry A")
	secret := []byte("k")
	f := sealTo(t, tt, secret, 8)
	zero := tpm.ZeroDigest(tpm.SHA256)
	h, _ := tpm.SHA256.Sum([]byte("entry B"))
	next, _ := tpm.ExtendDigest(tpm.SHA256, zero, h)
	x := &tpm.Expected{PCRs: *tpm.NewPCRs()}
	x.Set(tpm.SHA256, 8, next)
	plan, err := update.Prepare(tt, f.s, f.save, update.WithNext(x))
	if err != nil || plan.Window != nil || len(plan.Predicted) != 1 || f.saves != 1 {
		t.Fatalf("plan %+v %v", plan, err)
	}
	tt.Reboot()
	extend(t, tt, 8, "entry B")
	if info := mustUnseal(t, tt, f.s, secret); !info.Update || info.Counter != nil {
		t.Fatalf("%+v", info)
	}
}

// TestUpdateNoSecretOnTheWire records Prepare, the unseal through the
// window and Finish.
func TestUpdateNoSecretOnTheWire(t *testing.T) {
	tt := tpmtest.Open(t)
	boot(t, tt, "fw1", "launch", true)
	secret := []byte("UPDATE-SECRET-" + strings.Repeat("u", 30))
	f := sealTo(t, tt, secret, 0, 8)
	rec := tpm.NewRecorder(tt)
	if _, err := update.Prepare(rec, f.s, f.save, update.WithChangedPCRs(0)); err != nil {
		t.Fatal(err)
	}
	boot(t, tt, "fw2", "launch", true)
	if _, err := update.Finish(rec, f.s, f.save); err != nil {
		t.Fatal(err)
	}
	if rec.Count() < 20 {
		t.Fatalf("only %d commands recorded", rec.Count())
	}
	for i := range rec.Commands {
		for _, b := range [][]byte{rec.Commands[i], rec.Responses[i]} {
			if bytes.Contains(b, secret[:12]) {
				t.Fatalf("command %d (cc %#x) carries the secret in clear", i, rec.CommandCodes()[i])
			}
		}
	}
}

func TestWindowLaunches(t *testing.T) {
	tt := tpmtest.Open(t)
	boot(t, tt, "fw1", "launch", true)
	secret := []byte("k")
	f := sealTo(t, tt, secret, 0, 8)
	if _, err := update.Prepare(tt, f.s, f.save, update.WithLaunches(0)); !errors.Is(err, update.ErrPlan) {
		t.Fatalf("0 launches: %v", err)
	}
	if _, err := update.Prepare(tt, f.s, f.save, update.WithLaunches(3), update.WithChangedPCRs(0)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		boot(t, tt, "fw2", "launch", true)
		out, err := tpm.Unseal(tt, f.s)
		if open := i <= 3; open != (err == nil) || (open && !bytes.Equal(out, secret)) {
			t.Fatalf("launch %d after prepare: %v", i, err)
		}
	}
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, key
}

// TestPrepareNextWithoutTheSealedBank: a prediction that holds no value
// in the sealed file's bank is an error, never a silent fallback to the
// current values (which would leave the update object sealed to values
// the next launch does not produce).
func TestPrepareNextWithoutTheSealedBank(t *testing.T) {
	tt := tpmtest.Open(t)
	extend(t, tt, 8, "entry A")
	pol, err := tpm.CurrentPolicy(tt, tpm.SHA384, []int{8})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpm.Seal(tt, []byte("k"), pol)
	if err != nil {
		t.Fatal(err)
	}
	f := &file{t: t, s: s}
	h, _ := tpm.SHA256.Sum([]byte("entry B"))
	next, _ := tpm.ExtendDigest(tpm.SHA256, tpm.ZeroDigest(tpm.SHA256), h)
	x := &tpm.Expected{PCRs: *tpm.NewPCRs()}
	x.Set(tpm.SHA256, 8, next)
	plan, err := update.Prepare(tt, f.s, f.save, update.WithNext(x))
	if !errors.Is(err, update.ErrPlan) || !strings.Contains(err.Error(), "no sha384 values") || f.saves != 0 {
		t.Fatalf("prediction without the sealed bank: plan %+v, err %v, %d saves", plan, err, f.saves)
	}
}
