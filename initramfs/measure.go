package initramfs

import (
	"fmt"
	"strings"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/tpm"
)

// Banks are the PCR banks Build reports the image's measurement in.
var Banks = tpm.CommonBanks

// Contribution is what an image adds to the TPM when it is measured as
// the initrd under the default measurement profile (launch.MeasuredProfile,
// step "initrd"; launch/README.md): one event of type Type on PCR whose digest in
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
// hash to digests (one per bank): launch.PredictComponent of the default
// profile's initrd step with those digests pinned, so the PCR, the event
// type and the extend come from the one prediction path.
func InitrdContribution(digests tpm.Digests) (*Contribution, error) {
	banks := digests.Algs()
	im := launch.Image{Name: "image", Pinned: digests}
	p, err := launch.PredictComponent(launch.MeasuredProfile(), launch.Initrd, im, banks)
	if err != nil {
		return nil, err
	}
	if len(p.Events) != 1 {
		return nil, fmt.Errorf("profile %s measures the initrd in %d events", launch.ProfileMeasured, len(p.Events))
	}
	ev := p.Events[0]
	c := &Contribution{PCR: ev.PCR, Type: ev.Type, TypeName: ev.Type.String(), Banks: map[tpm.Alg]BankContribution{}}
	for _, alg := range banks {
		v, _ := p.PCRs.Get(alg, ev.PCR)
		c.Banks[alg] = BankContribution{Event: ev.Digests[alg], FromZero: v}
	}
	return c, nil
}

// Text describes the built image written to out: kind, size, files, its
// SHA-256, and its contribution when measured as the initrd, per bank.
func (r *Result) Text(out string, seconds float64) string {
	kind := "minimal"
	if r.Full {
		kind = "full"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "wrote %s: %s image, %d bytes, %d files, in %.1fs\n", out, kind, r.Size, r.Files, seconds)
	fmt.Fprintf(&b, "sha256 %s\n", r.Digests[tpm.SHA256])
	if m := r.Measurement; m != nil {
		fmt.Fprintf(&b, "measured as the initrd: PCR %d, %s, event digest = H(archive); PCR %d after one extend from zero:\n", m.PCR, m.TypeName, m.PCR)
		for _, a := range Banks {
			bc := m.Banks[a]
			fmt.Fprintf(&b, "  %-6s event %s\n         pcr%d  %s\n", a, bc.Event, m.PCR, bc.FromZero)
		}
	}
	return b.String()
}

// Report is a build as `slkit initramfs build --json` prints it: the file
// written, how long the build took, and its Result.
type Report struct {
	Out     string  `json:"out"`
	Seconds float64 `json:"seconds"`
	Result  *Result `json:"result"`
}
