package verifier

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// PolicyInput is the signed launch policy a launch is checked against, and
// where the verifier finds the images its entries name (the policy's
// paths are looked up in Images).
type PolicyInput struct {
	Signed []byte
	Key    ed25519.PublicKey
	Images fs.FS
}

// LaunchReport says which entry launched, or why none did.
type LaunchReport struct {
	// Entry is the policy entry the logs show (empty on a refusal).
	Entry string `json:"entry,omitempty"`
	// Dynamic is true when the DRTM log's events were compared too.
	Dynamic bool `json:"dynamic"`
	// Closest is the entry with the fewest differing events, and Diffs
	// those events, on a refusal.
	Closest string   `json:"closest,omitempty"`
	Diffs   []string `json:"diffs,omitempty"`
}

// predicted is one entry's prediction split by log.
type predicted struct {
	entry     *policy.Entry
	pre, drtm []tpm.Event
	diffs     []string
	refused   string
}

// checkPolicy decides which entry of the signed policy launched: the
// pre-launch log's events (PCR 8/9) and, for a dynamic launch, the DRTM
// log's (PCR 17/18) must equal, one by one (PCR, type, data and the digest
// in every bank compared), slkit's own prediction for the entry
// (launch.PredictPolicyEntry). The logs were replayed to the quote before,
// so their events are the PCRs' content. A refusal (ErrNoEntry) names the
// first event that matches no entry and the closest entry's differences.
func checkPolicy(in *PolicyInput, views map[string]*logView, quoted *tpm.PCRs) (*LaunchReport, error) {
	v, err := launch.VerifyPolicy(in.Signed, in.Key)
	if err != nil {
		return nil, err
	}
	pre, drtm := views["prelaunch"], views["drtm"]
	if pre == nil {
		return nil, fmt.Errorf("%w: the evidence has no pre-launch log, so PCR 8 and 9 cannot be compared with the policy", ErrNoEntry)
	}
	r := &LaunchReport{Dynamic: drtm != nil}
	if drtm == nil {
		for _, a := range quoted.Algs() {
			if p17, ok := quoted.Get(a, slaunch.PCRDCE); ok && !p17.Equal(tpm.OnesDigest(a)) {
				return r, fmt.Errorf("%w: %s PCR 17 shows a dynamic launch, and the evidence has no DRTM log to describe it", ErrNoEntry, a)
			}
		}
	}
	banks := intersectAlgs(quoted.Algs(), pre.banks)
	if drtm != nil {
		banks = intersectAlgs(banks, drtm.banks)
	}
	if len(banks) == 0 {
		return r, fmt.Errorf("%w: no quoted bank is carried by the pre-launch and DRTM logs alike", ErrCoverage)
	}
	var preds []*predicted
	for i := range v.Policy.Entries {
		pe := &v.Policy.Entries[i]
		p, err := launch.PredictPolicyEntry(in.Images, in.Signed, in.Key, pe, banks, drtm != nil)
		if err != nil {
			if errors.Is(err, launch.ErrImageMismatch) || errors.Is(err, launch.ErrEntry) {
				return r, fmt.Errorf("%w: %v", ErrImages, err)
			}
			return r, err
		}
		x := &predicted{entry: pe}
		for _, e := range p.Events {
			if e.PCR >= slaunch.PCRDCE && e.PCR <= 22 {
				x.drtm = append(x.drtm, e)
			} else {
				x.pre = append(x.pre, e)
			}
		}
		if pe.RequireDRTM && drtm == nil {
			x.refused = "requires DRTM, and the evidence has no DRTM log"
		}
		x.diffs = append(diffEvents("prelaunch", pre.measurements(), x.pre, banks), diffEvents("drtm", drtmEvents(drtm), x.drtm, banks)...)
		if x.refused == "" && len(x.diffs) == 0 {
			r.Entry = pe.Name
			return r, nil
		}
		preds = append(preds, x)
	}
	return r, refusal(r, pre, drtm, preds, banks)
}

func drtmEvents(v *logView) []logEvent {
	if v == nil {
		return nil
	}
	return v.measurements()
}

// refusal builds the ErrNoEntry message: the first event (pre-launch log
// first, then the DRTM log) that equals no entry's event at its place, and
// the closest entry's differences.
func refusal(r *LaunchReport, pre, drtm *logView, preds []*predicted, banks []tpm.Alg) error {
	closest := preds[0]
	for _, x := range preds[1:] {
		if len(x.diffs)+btoi(x.refused != "") < len(closest.diffs)+btoi(closest.refused != "") {
			closest = x
		}
	}
	r.Closest, r.Diffs = closest.entry.Name, closest.diffs
	first := ""
	for _, l := range []struct {
		name string
		got  []logEvent
		want func(*predicted) []tpm.Event
	}{
		{"prelaunch", pre.measurements(), func(x *predicted) []tpm.Event { return x.pre }},
		{"drtm", drtmEvents(drtm), func(x *predicted) []tpm.Event { return x.drtm }},
	} {
		for i, e := range l.got {
			if !slices.ContainsFunc(preds, func(x *predicted) bool { w := l.want(x); return i < len(w) && sameEvent(e, w[i], banks) }) {
				first = fmt.Sprintf("%s event %d (PCR %d %s %q, %s) matches no entry", l.name, e.Seq, e.PCR, e.Type, describe(e.Data), showDigest(e.Digests, banks))
				break
			}
		}
		if first != "" {
			break
		}
	}
	if first == "" {
		first = "every event matches some entry, but no entry has exactly these events"
	}
	why := strings.Join(closest.diffs, ", ")
	if closest.refused != "" {
		why = strings.Join(append([]string{closest.refused}, closest.diffs...), ", ")
	}
	return fmt.Errorf("%w: %s; closest entry %q: %s", ErrNoEntry, first, closest.entry.Name, why)
}

// diffEvents compares a log's events with an entry's predicted events, one
// by one, and describes each difference.
func diffEvents(log string, got []logEvent, want []tpm.Event, banks []tpm.Alg) []string {
	var out []string
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			out = append(out, fmt.Sprintf("%s event %d %q is missing from the log", log, i+1, want[i].Description()))
		case i >= len(want):
			out = append(out, fmt.Sprintf("%s event %d %q is not in the entry's launch", log, got[i].Seq, describe(got[i].Data)))
		case !sameEvent(got[i], want[i], banks):
			out = append(out, fmt.Sprintf("%s event %d %q differs (the entry's is PCR %d %s, %s)", log, got[i].Seq, want[i].Description(),
				want[i].PCR, want[i].Type, showDigest(want[i].Digests, banks)))
		}
	}
	return out
}

// sameEvent compares PCR, type, event data and the digest in every bank.
func sameEvent(got logEvent, want tpm.Event, banks []tpm.Alg) bool {
	if got.PCR != want.PCR || got.Type != want.Type || !bytes.Equal(got.Data, want.Data) {
		return false
	}
	for _, a := range banks {
		if !got.Digests[a].Equal(want.Digests[a]) {
			return false
		}
	}
	return true
}

// showDigest is the sha256 digest (else the first bank's), shortened.
func showDigest(ds tpm.Digests, banks []tpm.Alg) string {
	a := banks[0]
	if slices.Contains(banks, tpm.SHA256) {
		a = tpm.SHA256
	}
	return a.String() + " " + ds[a].Short()
}

func describe(b []byte) string {
	e := tpm.Event{Data: b}
	if d := e.Description(); d != "" {
		return d
	}
	return fmt.Sprintf("%d bytes", len(b))
}

func intersectAlgs(a, b []tpm.Alg) []tpm.Alg {
	var out []tpm.Alg
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
