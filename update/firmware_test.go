package update_test

import (
	"crypto/sha256"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

// TestPrepareFirmwarePredicted: with the queued changes measured into
// PCR 0 and the next boot's PCR 0 predicted (WithFirmware), the update
// object is sealed to it, no window is opened, and it unseals after a
// reboot into exactly that firmware. Without a value for PCR 0 the window
// is back.
func TestPrepareFirmwarePredicted(t *testing.T) {
	tt := tpmtest.Open(t)
	boot(t, tt, "firmware, BootOrder 0001", "launch", true)
	secret := []byte("disk key 0123456789abcdef")
	f := sealTo(t, tt, secret, 0, 8)

	next := "firmware, BootOrder 0001,0003"
	h := sha256.Sum256([]byte(next))
	pcr0 := sha256.Sum256(append(make([]byte, 32), h[:]...)) // one extend from reset
	fw := &tpm.Expected{PCRs: *tpm.NewPCRs()}
	fw.Set(tpm.SHA256, 0, pcr0[:])
	plan, err := update.Prepare(tt, f.s, f.save, update.WithChangedPCRs(0), update.WithFirmware(fw))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Window != nil || len(plan.Dropped) != 0 || len(plan.Predicted) != 1 || plan.Predicted[0] != 0 || f.saves != 1 {
		t.Fatalf("plan %+v, saves %d", plan, f.saves)
	}
	boot(t, tt, next, "launch", true)
	if info := mustUnseal(t, tt, f.s, secret); !info.Update {
		t.Fatal("the main object unsealed after the firmware changed")
	}
	boot(t, tt, "firmware, something else", "launch", true)
	if _, err := tpm.Unseal(tt, f.s); err == nil {
		t.Fatal("unsealed after a firmware change the prediction did not foresee")
	}

	g := sealTo(t, tt, secret, 0, 8)
	other := &tpm.Expected{PCRs: *tpm.NewPCRs()}
	other.Set(tpm.SHA256, 11, pcr0[:])
	plan, err = update.Prepare(tt, g.s, g.save, update.WithChangedPCRs(0), update.WithFirmware(other))
	if err != nil || plan.Window == nil || len(plan.Dropped) != 1 || plan.Dropped[0] != 0 {
		t.Fatalf("PCR 0 not predicted: plan %+v, %v", plan, err)
	}
}
