package update

import (
	"fmt"
	"strings"

	"github.com/slkit/slkit/tpm"
)

// CheckVia refuses a kexec round trip when a pending entry takes effect
// only through a firmware reboot, which the round trip skips.
func (p *Pending) CheckVia(v Via) error {
	if v == ViaKexec && len(p.Reboot) > 0 {
		return fmt.Errorf("%w: journal entry %s takes effect only through a firmware reboot, which a kexec round trip skips: use --via reboot", ErrPlan, p.Reboot[0])
	}
	return nil
}

// Text describes the pending journal at path, in one or two lines.
func (p *Pending) Text(path string) string {
	verified := "signature not checked (give --pub)"
	if p.Verified {
		verified = "signature verified"
	}
	s := fmt.Sprintf("journal %s: generation %d, %d of %d entries pending, %s\n", path, p.Generation, p.Pending, p.Entries, verified)
	if len(p.Reboot) > 0 {
		s += fmt.Sprintf("  the pre-launch environment reboots through the firmware after committing (%s)\n", strings.Join(p.Reboot, "; "))
	}
	return s
}

// Text describes the plan in one line; next says where the predicted
// values came from.
func (p *Plan) Text(next string) string {
	if p.Unchanged != "" {
		return "unchanged: " + p.Unchanged
	}
	line := fmt.Sprintf("update object sealed to %s PCRs %s", p.Bank, tpm.PCRList(p.PCRs))
	if len(p.Predicted) > 0 {
		line += fmt.Sprintf(", PCRs %s %s", tpm.PCRList(p.Predicted), next)
	}
	if w := p.Window; w != nil {
		line += fmt.Sprintf("; firmware PCRs %s left out (the queued changes are measured there), bounded by the update window: counter %#08x in %d..%d (now %d: the next launch opens it)", tpm.PCRList(p.Dropped), w.Index, w.Min, w.Max, p.Counter)
		if len(p.Added) > 0 {
			line += fmt.Sprintf(" and by PCRs %s as the pre-launch stage leaves them", tpm.PCRList(p.Added))
		}
	}
	return line
}

// String describes what Finish did in one line.
func (f *Finished) String() string {
	how := "the main object released the secret"
	if f.ByUpdate {
		how = "the update object released the secret; the main object was refused: " + strings.TrimPrefix(f.MainRefusal, "unseal refused: ")
	}
	return fmt.Sprintf("resealed to the current PCRs %s (%s)", tpm.PCRList(f.PCRs), how)
}
