package verifier

import (
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-attestation/attest"

	slattest "github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// logView is one event log as go-attestation parsed it, with each event's
// digest in every bank the log carries.
type logView struct {
	name   string
	raw    []byte
	el     *attest.EventLog
	banks  []tpm.Alg
	events []logEvent
}

// logEvent is one record after the header; Seq numbers them from 1, as
// slkit numbers the events of a fresh log.
type logEvent struct {
	Seq     int
	PCR     int
	Type    tpm.EventType
	Data    []byte
	Digests tpm.Digests
}

func parseLogView(name string, raw []byte) (*logView, error) {
	el, err := attest.ParseEventLog(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the %s log does not parse: %v", ErrLogReplay, name, err)
	}
	v := &logView{name: name, raw: raw, el: el}
	for _, ha := range el.Algs {
		a := tpm.Alg(ha)
		if _, err := a.Hash(); err != nil {
			continue
		}
		v.banks = append(v.banks, a)
		for i, e := range el.Events(ha) {
			if i == len(v.events) {
				v.events = append(v.events, logEvent{Seq: i + 1, PCR: e.Index, Type: tpm.EventType(e.Type), Data: e.Data, Digests: tpm.Digests{}})
			}
			if len(e.Digest) > 0 {
				v.events[i].Digests[a] = e.Digest
			}
		}
	}
	if len(v.banks) == 0 {
		return nil, fmt.Errorf("%w: the %s log carries no bank slkit can compute", ErrLogReplay, name)
	}
	return v, nil
}

// measurements are the events that extend a PCR (EV_NO_ACTION excluded).
func (v *logView) measurements() []logEvent {
	var out []logEvent
	for _, e := range v.events {
		if e.Type != tpm.EvNoAction {
			out = append(out, e)
		}
	}
	return out
}

// extended lists the PCRs the log extends.
func (v *logView) extended() []int {
	var out []int
	for _, e := range v.measurements() {
		if !slices.Contains(out, e.PCR) {
			out = append(out, e.PCR)
		}
	}
	slices.Sort(out)
	return out
}

// LogReport says what one log covers and how it was checked.
type LogReport struct {
	Name   string `json:"name"`
	Events int    `json:"events"`
	// PCRs are the PCRs the log extends.
	PCRs []int `json:"pcrs"`
	// Verified are the quoted banks the log replays to; NotInLog the
	// quoted banks the log does not carry (their PCRs are not explained).
	Verified []tpm.Alg `json:"verified"`
	NotInLog []tpm.Alg `json:"not_in_log,omitempty"`
	// ReplayedWith names the log this one was replayed after (the
	// pre-launch log after the firmware's, when both extend a PCR).
	ReplayedWith string `json:"replayed_with,omitempty"`
	// Markers counts Secure Launch v14 start/end markers (DRTM log).
	Markers int `json:"markers,omitempty"`
}

// checkLogs replays every log to the quoted PCRs in every quoted bank it
// carries, with go-attestation's EventLog.Verify: each PCR the log
// extends must be quoted in that bank (ErrCoverage) and equal the replay
// (ErrLogReplay). When the firmware log and the pre-launch log both
// extend a PCR (a boot loader or the EFI stub measured into PCR 8 or 9
// before slkit), they are replayed as one log, the pre-launch events after
// the firmware's (go-attestation AppendEvents). The DRTM log is replayed
// from PCR 17/18's post-launch value, 0, and checked with
// slaunch.CheckDRTM: a dynamic launch happened and the log describes it.
func checkLogs(ev *slattest.Evidence, quoted *tpm.PCRs) (map[string]*logView, []LogReport, error) {
	views := map[string]*logView{}
	var order []string
	for _, l := range ev.Logs.Named() {
		v, err := parseLogView(l.Name, l.Bytes)
		if err != nil {
			return nil, nil, err
		}
		views[l.Name] = v
		order = append(order, l.Name)
	}
	reports := make([]LogReport, 0, len(order))
	units := map[string]*logView{}
	for _, n := range order {
		units[n] = views[n]
	}
	fw, pre := views["firmware"], views["prelaunch"]
	if fw != nil && pre != nil && overlap(fw.extended(), pre.extended()) {
		combined, err := attest.AppendEvents(fw.raw, pre.raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: the firmware and pre-launch logs both extend PCR %s and cannot be replayed together: %v",
				ErrCoverage, pcrList(intersect(fw.extended(), pre.extended())), err)
		}
		u, err := parseLogView("firmware+prelaunch", combined)
		if err != nil {
			return nil, nil, err
		}
		units["firmware"], units["prelaunch"] = u, u
	}
	for _, n := range order {
		v, u := views[n], units[n]
		r := LogReport{Name: n, Events: len(v.measurements()), PCRs: v.extended()}
		if u != v {
			r.ReplayedWith = u.name
		}
		for _, a := range quoted.Algs() {
			if !slices.Contains(u.banks, a) {
				r.NotInLog = append(r.NotInLog, a)
				continue
			}
			for _, i := range r.PCRs {
				if _, ok := quoted.Get(a, i); !ok {
					return nil, nil, fmt.Errorf("%w: the %s log extends PCR %d, which the %s quote does not cover (it covers PCR %s)",
						ErrCoverage, n, i, a, pcrList(quoted.Indices(a)))
				}
			}
			if err := replayBank(u, a, quoted); err != nil {
				return nil, nil, err
			}
			r.Verified = append(r.Verified, a)
		}
		if len(r.Verified) == 0 {
			return nil, nil, fmt.Errorf("%w: the %s log carries none of the quoted banks (%s)", ErrCoverage, n, algList(quoted.Algs()))
		}
		reports = append(reports, r)
	}
	if raw := ev.Logs.DRTM; raw != nil {
		if err := checkDRTM(raw, quoted); err != nil {
			return nil, nil, err
		}
	}
	return views, reports, nil
}

// replayBank verifies the PCRs log u extends, in bank a, against the
// quoted values (which the caller checked are there).
func replayBank(u *logView, a tpm.Alg, quoted *tpm.PCRs) error {
	h, _ := a.Hash()
	var pcrs []attest.PCR
	for _, i := range u.extended() {
		v, _ := quoted.Get(a, i)
		pcrs = append(pcrs, attest.PCR{Index: i, Digest: v, DigestAlg: h})
	}
	if _, err := u.el.Verify(pcrs); err != nil {
		var re attest.ReplayError
		if errors.As(err, &re) {
			return fmt.Errorf("%w: the %s log does not replay to the quoted %s PCR %s", ErrLogReplay, u.name, a, pcrList(re.InvalidPCRs))
		}
		return fmt.Errorf("%w: the %s log, %s: %v", ErrLogReplay, u.name, a, err)
	}
	return nil
}

// checkDRTM applies slaunch.CheckDRTM to the quoted PCR 17/18: PCR 17
// must have left its 0xFF reset value in every quoted bank and the DRTM
// log must replay to both from 0 in every bank it carries.
func checkDRTM(raw []byte, quoted *tpm.PCRs) error {
	l, err := tpm.ParseEventLog(raw)
	if err != nil {
		return fmt.Errorf("%w: the drtm log: %v", ErrLogReplay, err)
	}
	p1718 := tpm.NewPCRs()
	for _, a := range quoted.Algs() {
		for _, i := range []int{slaunch.PCRDCE, slaunch.PCRPolicy} {
			v, ok := quoted.Get(a, i)
			if !ok {
				return fmt.Errorf("%w: the evidence has a DRTM log, and the %s quote does not cover PCR %d", ErrCoverage, a, i)
			}
			p1718.Set(a, i, v)
		}
	}
	if err := slaunch.CheckDRTM(p1718, l); err != nil {
		return fmt.Errorf("the drtm log: %w", err)
	}
	return nil
}

func overlap(a, b []int) bool { return len(intersect(a, b)) > 0 }

func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func algList(as []tpm.Alg) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return joinComma(s)
}
