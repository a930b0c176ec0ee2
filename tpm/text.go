package tpm

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Text lists the values bank by bank, one PCR a line:
//
//	sha256:
//	   8: <hex>
func (p *PCRs) Text() string {
	var b strings.Builder
	for _, a := range p.Algs() {
		fmt.Fprintf(&b, "%s:\n", a)
		for _, i := range p.Indices(a) {
			d, _ := p.Get(a, i)
			fmt.Fprintf(&b, "  %2d: %s\n", i, d)
		}
	}
	return b.String()
}

// EventsText lists events one a line: index, PCR, type, the digest in
// bank (shortened) and the description (at most 60 characters).
func EventsText(evs []Event, bank Alg) string {
	var b strings.Builder
	for i := range evs {
		ev := &evs[i]
		desc := ev.Description()
		if r := []rune(desc); len(r) > 60 {
			desc = string(r[:59]) + "…"
		}
		fmt.Fprintf(&b, "%4d  PCR %2d  %-29s %s %s  %s\n", ev.Index, ev.PCR, ev.Type, bank, ev.Digests[bank].Short(), desc)
	}
	return b.String()
}

// Text is the log's format, banks and events (digests in the header's
// last bank).
func (l *EventLog) Text() string {
	algs := l.Algs()
	s := fmt.Sprintf("format %s, banks %s, %d events\n", l.Format, AlgList(algs), len(l.Events))
	if len(algs) == 0 {
		return s
	}
	return s + EventsText(l.Events, algs[len(algs)-1])
}

// AlgList names algorithms, comma-separated ("sha1,sha256").
func AlgList(as []Alg) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// Text is the replayed values, the banks not compared, and, when every
// compared PCR matched, the verdict (`slkit eventlog replay --against-tpm`).
func (v *LogVerification) Text() string {
	var b strings.Builder
	b.WriteString(v.Replayed.Text())
	for _, a := range v.SkippedBanks {
		fmt.Fprintf(&b, "bank %s of the log is not active in the TPM: not compared\n", a)
	}
	if v.OK() {
		b.WriteString("event log matches the TPM\n")
	}
	return b.String()
}

// MarshalJSON writes the replayed values as "banks" (the shape of `slkit
// pcr read --json`), the comparison, and "verified".
func (v *LogVerification) MarshalJSON() ([]byte, error) {
	type plain LogVerification
	return json.Marshal(struct {
		Banks map[Alg]map[int]Digest `json:"banks"`
		*plain
		Verified bool `json:"verified"`
	}{v.Replayed.Banks, (*plain)(v), v.OK()})
}

// PCRList lists PCR numbers, comma-separated ("1,8,9").
func PCRList(pcrs []int) string {
	s := make([]string, len(pcrs))
	for i, p := range pcrs {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// String names the policy in one line: "sha256 PCRs [8 9]", then " +
// PIN" for PolicyAuthValue and " + locality mask 0x4" for PolicyLocality.
func (p *SealPolicy) String() string {
	s := fmt.Sprintf("%s PCRs %v", p.Bank, p.PCRs)
	if p.PIN {
		s += " + PIN"
	}
	if p.Locality != 0 {
		s += fmt.Sprintf(" + locality mask %#x", p.Locality)
	}
	return s
}
