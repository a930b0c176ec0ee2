package initramfs

import (
	"fmt"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/tpm"
)

// Banks are the PCR banks Build reports the image's measurement in.
var Banks = []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}

// Contribution is what an image adds to the TPM when it is measured as
// the initrd under the default measurement profile (launch.MeasuredProfile,
// step "initrd"; DESIGN.md): one event of type Type on PCR whose digest in
// every bank is the hash of the archive's bytes.
type Contribution struct {
	PCR  int           `json:"pcr"`
	Type tpm.EventType `json:"event_type"`
	// TypeName is Type's name ("EV_IPL").
	TypeName string `json:"event_type_name"`
	// Banks holds, per bank, the event digest and the PCR value that
	// extending a zero PCR with it gives.
	Banks map[tpm.Alg]BankContribution `json:"banks"`
}

// BankContribution is the contribution in one bank.
type BankContribution struct {
	// Event is the event digest: H(archive).
	Event tpm.Digest `json:"event_digest"`
	// FromZero is H(0…0 ‖ Event), the PCR after one extend from reset
	// (TPM 2.0 Part 1 §17.2). A real launch has other events on the same
	// PCR before it (the kernel), so this is the value to chain from.
	FromZero tpm.Digest `json:"pcr_from_zero"`
}

// InitrdContribution computes the contribution of an initrd whose bytes
// hash to digests (one per bank), taking the PCR and event type from the
// profile's initrd step. It is the one place that knows the profile.
func InitrdContribution(digests tpm.Digests) (*Contribution, error) {
	var step *launch.Step
	p := launch.MeasuredProfile()
	for i := range p.Steps {
		if p.Steps[i].Component == launch.Initrd {
			step = &p.Steps[i]
		}
	}
	if step == nil {
		return nil, fmt.Errorf("profile %s measures no initrd", p.Name)
	}
	c := &Contribution{PCR: step.PCR, Type: step.Type, TypeName: step.Type.String(), Banks: map[tpm.Alg]BankContribution{}}
	for _, alg := range digests.Algs() {
		pcr, err := tpm.ExtendDigest(alg, tpm.ZeroDigest(alg), digests[alg])
		if err != nil {
			return nil, err
		}
		c.Banks[alg] = BankContribution{Event: digests[alg], FromZero: pcr}
	}
	return c, nil
}
