package nextboot

import (
	"fmt"
	"sort"
	"strings"

	"github.com/slkit/slkit/tpm"
)

// Report is a prediction in short: the log it was made from, the PCRs
// that change and those that cannot be predicted, with why (`slkit update
// prepare --json`'s "firmware").
type Report struct {
	Log           string         `json:"log"`
	Changed       []int          `json:"changed"`
	Unpredictable map[int]string `json:"unpredictable,omitempty"`
}

// Report is p, made from the firmware log log, in short.
func (p *Prediction) Report(log string) *Report {
	return &Report{Log: log, Changed: p.Changed, Unpredictable: p.Unpredictable}
}

// String is the report in one line: "next boot predicted from LOG: PCRs
// 1,7 change", then "; PCR N cannot be predicted: WHY" for each PCR in
// order.
func (r *Report) String() string {
	changes := "no PCR changes"
	if len(r.Changed) > 0 {
		changes = "PCRs " + tpm.PCRList(r.Changed) + " change"
	}
	s := fmt.Sprintf("next boot predicted from %s: %s", r.Log, changes)
	for _, i := range sortedPCRs(r.Unpredictable) {
		s += fmt.Sprintf("; PCR %d cannot be predicted: %s", i, r.Unpredictable[i])
	}
	return s
}

// Text is p, made from the firmware log log, as `slkit predict
// --firmware-log` prints it: the PCRs that change, those that cannot be
// predicted and why, and the predicted values.
func (p *Prediction) Text(log string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "next boot predicted from %s, banks %s: PCRs changed %v\n", log, tpm.AlgList(p.Banks), p.Changed)
	for _, i := range sortedPCRs(p.Unpredictable) {
		fmt.Fprintf(&b, "PCR %d cannot be predicted: %s\n", i, p.Unpredictable[i])
	}
	b.WriteString("PCR values at the hand-over to the booted image's kernel:\n")
	b.WriteString(p.PCRs.Text())
	return b.String()
}

// LaunchStart is PCRs 8 and 9, in every predicted bank, as the next
// boot's pre-launch stage finds them before it measures anything: PCR 8
// at its reset value (nothing before slkit extends it) and PCR 9 as
// predicted (the EFI stub's measurements of the boot image; reset when
// nothing is measured there). It is nil when PCR 9 cannot be predicted.
func (p *Prediction) LaunchStart() *tpm.PCRs {
	if _, bad := p.Unpredictable[9]; bad {
		return nil
	}
	start := tpm.NewPCRs()
	for _, a := range p.Banks {
		start.Set(a, 8, tpm.ZeroDigest(a))
		v, ok := p.PCRs.Get(a, 9)
		if !ok {
			v = tpm.ZeroDigest(a)
		}
		start.Set(a, 9, v)
	}
	return start
}

// sortedPCRs lists the PCRs of a per-PCR map in order.
func sortedPCRs(m map[int]string) []int {
	var out []int
	for i := range m {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}
