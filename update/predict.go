package update

import (
	"crypto/ed25519"
	"fmt"
	"io/fs"
	"slices"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/tpm"
)

// Launch is a launch that happens before the next unseal: entry Entry of
// the signed launch policy Signed, measured as `slkit launch --policy
// Signed --entry Entry` measures it (launch/README.md).
type Launch struct {
	// Signed is the signed policy file's exact bytes.
	Signed []byte
	// Pub is the key it must verify under.
	Pub ed25519.PublicKey
	// Entry is the entry's name ("" for the first entry).
	Entry string
	// Images, when set, holds the entry's kernel and initrd at the
	// policy's paths (as `slkit launch --root` finds them). A policy pins
	// its images by SHA-256 only, so a prediction in any other bank reads
	// them from here (and checks them against the pins); without Images
	// such a prediction is refused (launch.ErrNeedImage).
	Images fs.FS
	// Name names the launch in error messages (e.g. the policy's file).
	Name string
}

// resolve verifies the policy under its key, selects the entry and looks
// up its profile.
func (ln Launch) resolve() (*policy.Entry, *launch.Profile, error) {
	v, err := launch.VerifyPolicy(ln.Signed, ln.Pub)
	if err != nil {
		return nil, nil, err
	}
	pe, err := v.Policy.Entry(ln.Entry)
	if err != nil {
		return nil, nil, err
	}
	prof, err := launch.ProfileByName(pe.Profile)
	if err != nil {
		return nil, nil, err
	}
	return pe, prof, nil
}

func (ln Launch) errorf(i int, err error) error {
	if ln.Name != "" {
		return fmt.Errorf("%s: %w", ln.Name, err)
	}
	return fmt.Errorf("launch %d: %w", i+1, err)
}

// PredictLaunches predicts, in banks, the values of the PCRs that the
// launches extend, one after the other with no PCR reset in between,
// starting from start (nil: the reset value 0 of PCRs 0–16 and 23). Each
// launch is launch.Predict of its policy entry (launch.PolicyEntry:
// the policy file's and the command line's digests are computed, the
// images' are the policy's SHA-256 pins or, with Launch.Images, read),
// chained with launch.WithAfter. Every policy is verified under its key
// first. The events are returned too (numbered as one log), so that a
// refused unseal can name the event that differs.
//
// Only the components of the measurement profiles are predicted (PCRs 8
// and 9 for measured-v1); a DRTM launch's PCR 17/18 are reset by the
// dynamic launch and keep their values for the same entry.
func PredictLaunches(start *tpm.PCRs, banks []tpm.Alg, launches ...Launch) (*tpm.Expected, error) {
	if len(launches) == 0 {
		return nil, fmt.Errorf("%w: no launch to predict", ErrPlan)
	}
	var pred *launch.Prediction
	for i, ln := range launches {
		pe, prof, err := ln.resolve()
		if err != nil {
			return nil, ln.errorf(i, err)
		}
		e, done, err := launch.PolicyEntry(ln.Signed, ln.Pub, pe, ln.Images)
		if err != nil {
			return nil, ln.errorf(i, err)
		}
		opt := launch.WithStart(start)
		if pred != nil {
			opt = launch.WithAfter(pred)
		}
		pred, err = launch.Predict(e, prof, banks, opt)
		done()
		if err != nil {
			return nil, ln.errorf(i, err)
		}
	}
	x := pred.Expected()
	return &x, nil
}

// LaunchPCRs lists the PCRs the launches extend (their profiles'),
// ascending: the values a kexec round trip continues from.
func LaunchPCRs(launches ...Launch) ([]int, error) {
	var out []int
	for i, ln := range launches {
		_, prof, err := ln.resolve()
		if err != nil {
			return nil, ln.errorf(i, err)
		}
		for _, p := range prof.PCRs() {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// nextValues are the values the next launch extends the sealed file's
// PCRs to, in its bank: WithNext's, or WithNextLaunches' predicted in that
// bank — from the TPM's current values for ViaKexec (no PCR is reset on
// the way), else from WithStart's (default: reset values). A prediction
// without the bank is an error, never a fallback to the current values.
func (c *config) nextValues(t tpm.TPMSender, bank tpm.Alg) (*tpm.Expected, error) {
	next := c.next
	if len(c.nextLaunches) > 0 {
		start := c.start
		if c.via == ViaKexec {
			pcrs, err := LaunchPCRs(c.nextLaunches...)
			if err != nil {
				return nil, err
			}
			if start, err = tpm.ReadPCRs(t, tpm.Selection{bank: pcrs}); err != nil {
				return nil, err
			}
		}
		var err error
		if next, err = PredictLaunches(start, []tpm.Alg{bank}, c.nextLaunches...); err != nil {
			return nil, err
		}
	}
	if next != nil && len(next.Indices(bank)) == 0 {
		return nil, fmt.Errorf("%w: the next launch's values hold no %s values (banks: %v), the bank the file is sealed in: predict in that bank",
			ErrPlan, bank, next.Algs())
	}
	return next, nil
}

// FirmwareStart is where a launch after a firmware reboot starts: the
// PCR values the firmware's event log replays to — what the firmware and
// the EFI stub measure before the pre-launch stage runs (PCR 9: the
// pre-launch image's command line and initrd), the same at the next boot
// when the image and its command line are — with the PCRs the launch
// extends and the log does not name at their reset value.
func FirmwareStart(firmware *tpm.EventLog) (*tpm.PCRs, error) {
	start, err := firmware.Replay()
	if err != nil {
		return nil, err
	}
	for _, i := range launch.MeasuredProfile().PCRs() {
		if _, ok := start.Get(tpm.SHA256, i); !ok {
			start.Set(tpm.SHA256, i, tpm.ZeroDigest(tpm.SHA256))
		}
	}
	return start, nil
}

// LaunchStart is where the prediction of the next launch starts, and what
// that is: the current values for a kexec (nil); start, the values given
// in the file startName; the firmware prediction fw's (PCR 9: the EFI
// stub's measurements); else this boot's firmware event log replayed
// (FirmwareStart: what the firmware and the EFI stub measure before the
// pre-launch stage runs, the next boot measures again into PCRs 8 and 9;
// the queued changes go to others); else, without a firmware log, reset
// values. fw and start may be nil.
func LaunchStart(via Via, start *tpm.Expected, startName string, fw *nextboot.Prediction) (*tpm.PCRs, string, error) {
	switch {
	case via == ViaKexec:
		return nil, "the current PCR values", nil
	case start != nil:
		return &start.PCRs, startName, nil
	case fw != nil && fw.LaunchStart() != nil:
		return fw.LaunchStart(), "the predicted firmware values (PCR 9: the EFI stub's measurements)", nil
	}
	logs, _, err := tpm.ExplainingLogs(nil)
	if err != nil || len(logs) != 1 {
		return nil, "reset values", err
	}
	pcrs, err := FirmwareStart(logs[0])
	if err != nil {
		return nil, "", &fsys.InputError{Path: tpm.FirmwareLogPath, Err: err}
	}
	return pcrs, "the firmware event log", nil
}
