package update_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
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

// boot resets the TPM and extends PCR 0 with the firmware and PCR 8 with
// the launch; a launch configured with --update-counter increments the
// counter before it measures.
func boot(t *testing.T, tt *tpmtest.TPM, firmware, launch string, increment bool) {
	t.Helper()
	if err := tt.Reboot(); err != nil {
		t.Fatal(err)
	}
	extend(t, tt, 0, firmware)
	if increment {
		if c, err := tpm.OpenCounter(tt, tpm.DefaultCounterIndex); err == nil {
			if err := c.Increment(tt); err != nil {
				t.Fatal(err)
			}
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

func undefineAtEnd(t *testing.T, tt tpm.TPMSender) {
	t.Cleanup(func() { tpm.UndefineCounter(tt, tpm.DefaultCounterIndex) })
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
// sealed to PCR 0 (firmware) and 8 (launch) gets an update object without
// PCR 0, bound to the next launch; after the update the main object is
// refused and the update object releases it; Finish reseals to the new
// values and CloseWindows makes every copy of the old file useless.
func TestRebootUpdate(t *testing.T) {
	tt := tpmtest.Open(t)
	undefineAtEnd(t, tt)
	boot(t, tt, "firmware, BootOrder 0001", "launch", true)
	secret := []byte("disk key 0123456789abcdef")
	f := sealTo(t, tt, secret, 0, 8)

	plan, err := update.Prepare(tt, f.s, f.save)
	if err != nil {
		t.Fatal(err)
	}
	if f.saves != 1 || f.s.Update == nil || !plan.DefinedCounter || plan.Window == nil ||
		plan.Window.Min != plan.Counter+1 || plan.Window.Max != plan.Counter+1 ||
		len(plan.Dropped) != 1 || plan.Dropped[0] != 0 || len(plan.PCRs) != 1 || plan.PCRs[0] != 8 {
		t.Fatalf("plan %+v, saves %d", plan, f.saves)
	}
	prepared := f.s

	// Finishing before the update happened is refused: it would reseal to
	// the old firmware's PCR 0 and close the window.
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
	after, err := update.CloseWindows(tt, fin.Window)
	if err != nil || after[tpm.DefaultCounterIndex] <= fin.Window.Max {
		t.Fatalf("close: %v %v", after, err)
	}
	// A copy of the prepared file (it lives on an unencrypted disk) is
	// useless now, in this boot already.
	if out, err := tpm.Unseal(tt, prepared); out != nil || !strings.Contains(err.Error(), "update window closed") {
		t.Fatalf("old file after close: %v", err)
	}
	// The next boot: the resealed file works as a plain sealed file.
	boot(t, tt, "firmware, BootOrder 0002,0001", "launch", true)
	mustUnseal(t, tt, f.s, secret)
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

// TestPrepareOnlyFirmwarePCRs is refused: the update object would be
// bound to the counter alone.
func TestPrepareOnlyFirmwarePCRs(t *testing.T) {
	tt := tpmtest.Open(t)
	f := sealTo(t, tt, []byte("k"), 0, 7)
	if _, err := update.Prepare(tt, f.s, f.save); !errors.Is(err, update.ErrPlan) || f.saves != 0 {
		t.Fatalf("%v", err)
	}
	// Through a kexec no firmware runs: nothing is dropped, nothing to do.
	plan, err := update.Prepare(tt, f.s, f.save, update.WithVia(update.ViaKexec))
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
	undefineAtEnd(t, tt)
	boot(t, tt, "fw1", "launch", false)
	secret := []byte("UPDATE-SECRET-" + strings.Repeat("u", 30))
	f := sealTo(t, tt, secret, 0, 8)
	rec := tpm.NewRecorder(tt)
	if _, err := update.Prepare(rec, f.s, f.save); err != nil {
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
	undefineAtEnd(t, tt)
	boot(t, tt, "fw1", "launch", false)
	secret := []byte("k")
	f := sealTo(t, tt, secret, 0, 8)
	if _, err := update.Prepare(tt, f.s, f.save, update.WithLaunches(0)); !errors.Is(err, update.ErrPlan) {
		t.Fatalf("0 launches: %v", err)
	}
	if _, err := update.Prepare(tt, f.s, f.save, update.WithLaunches(3)); err != nil {
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
