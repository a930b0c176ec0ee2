package update

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
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
}

// PredictLaunches predicts the sha256 values of the PCRs that the launches
// extend, one after the other, starting from start (nil: the reset value
// 0 of PCRs 0–16 and 23). No image is read: a policy pins the kernel and
// initrd by SHA-256, which is their sha256 event digest; the policy file's
// and the command line's digests are computed. Every policy is verified
// under its key first. The events are returned too (numbered as one log),
// so that a refused unseal can name the event that differs.
//
// Only the components of the measurement profiles are predicted (PCRs 8
// and 9 for measured-v1); a DRTM launch's PCR 17/18 are reset by the
// dynamic launch and keep their values for the same entry.
func PredictLaunches(start *tpm.PCRs, launches ...Launch) (*tpm.Expected, error) {
	l, err := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	if err != nil {
		return nil, err
	}
	for i, ln := range launches {
		if err := appendLaunch(l, ln); err != nil {
			return nil, fmt.Errorf("launch %d: %w", i+1, err)
		}
	}
	var ropts []tpm.ReplayOption
	if start != nil {
		st := tpm.NewPCRs()
		for _, e := range l.Events {
			v, ok := start.Get(tpm.SHA256, e.PCR)
			if !ok {
				return nil, fmt.Errorf("%w: no start value for sha256 PCR %d", ErrPlan, e.PCR)
			}
			st.Set(tpm.SHA256, e.PCR, v)
		}
		ropts = append(ropts, tpm.WithStartValues(st))
	}
	vals, err := l.Replay(ropts...)
	if err != nil {
		return nil, err
	}
	return &tpm.Expected{PCRs: *vals, Events: l.Events}, nil
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

// appendLaunch appends the events of one launch to l, walking its
// profile's steps as launch.Measure does.
func appendLaunch(l *tpm.EventLog, ln Launch) error {
	v, err := launch.VerifyPolicy(ln.Signed, ln.Pub)
	if err != nil {
		return err
	}
	pe, err := v.Policy.Entry(ln.Entry)
	if err != nil {
		return err
	}
	prof, err := launch.ProfileByName(pe.Profile)
	if err != nil {
		return err
	}
	for _, s := range prof.Steps {
		d, ok, err := componentDigest(s.Component, ln, pe)
		if err != nil {
			return fmt.Errorf("policy entry %q: %w", pe.Name, err)
		}
		if !ok {
			if s.Optional {
				continue
			}
			return fmt.Errorf("%w: policy entry %q has no %s, which profile %s needs", ErrPlan, pe.Name, s.Component, prof.Name)
		}
		if _, err := l.Append(s.PCR, s.Type, tpm.Digests{tpm.SHA256: d}, []byte(s.Description)); err != nil {
			return err
		}
	}
	return nil
}

// componentDigest is the sha256 event digest of a component of a
// policy-driven launch (launch.Component: the bytes each one stands for).
func componentDigest(c launch.Component, ln Launch, pe *policy.Entry) (tpm.Digest, bool, error) {
	switch c {
	case launch.LaunchPolicy:
		s := sha256.Sum256(ln.Signed)
		return s[:], true, nil
	case launch.LaunchPolicyKey:
		der, err := x509.MarshalPKIXPublicKey(ln.Pub)
		if err != nil {
			return nil, false, err
		}
		s := sha256.Sum256(der)
		return s[:], true, nil
	case launch.Cmdline:
		s := sha256.Sum256([]byte(pe.Cmdline))
		return s[:], true, nil
	case launch.Kernel:
		return imageDigest(&pe.Kernel)
	case launch.Initrd:
		if pe.Initrd == nil {
			return nil, false, nil
		}
		return imageDigest(pe.Initrd)
	}
	return nil, false, fmt.Errorf("%w: component %q cannot be predicted from a policy", ErrPlan, c)
}

func imageDigest(im *policy.Image) (tpm.Digest, bool, error) {
	b, err := hex.DecodeString(im.SHA256)
	if err != nil || len(b) != sha256.Size {
		return nil, false, fmt.Errorf("%w: %s: bad sha256 %q", ErrPlan, im.Path, im.SHA256)
	}
	return b, true, nil
}
