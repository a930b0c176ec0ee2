package launch

import (
	"crypto/ed25519"
	"fmt"
	"io/fs"

	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// PredictPolicyEntry predicts what the launch of entry pe of the signed
// policy file signed produces in banks, as Launch would measure it: the
// entry's images opened in fsys at the entry's paths and checked against
// its SHA-256 digests first (a mismatch is ErrImageMismatch, naming the
// image), the signed policy measured, the entry's profile (Predict); with
// drtm, the emulated dynamic launch too (PredictEmulatedDRTM). A verifier
// calls it to tell whether evidence shows that entry launched.
func PredictPolicyEntry(fsys fs.FS, signed []byte, pub ed25519.PublicKey, pe *policy.Entry, banks []tpm.Alg, drtm bool) (*Prediction, error) {
	prof, err := ProfileByName(pe.Profile)
	if err != nil {
		return nil, err
	}
	e, done, err := PolicyEntry(signed, pub, pe, fsys)
	if err != nil {
		return nil, err
	}
	defer done()
	predict := Predict
	if drtm {
		predict = PredictEmulatedDRTM
	}
	pred, err := predict(e, prof, banks)
	if err != nil {
		return nil, fmt.Errorf("policy entry %q: %w", pe.Name, err)
	}
	return pred, nil
}
