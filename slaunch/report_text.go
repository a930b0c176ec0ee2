package slaunch

import (
	"fmt"
	"strings"
)

// Text is the probe's report (`slkit drtm status`): each architecture's
// verdict with its blocking reasons and notes, then the CPU and the TPM.
func (s *Status) Text() string {
	var b strings.Builder
	for _, r := range []Readiness{s.TXT, s.SKINIT} {
		name := map[string]string{"txt": "Intel TXT", "skinit": "AMD SKINIT"}[r.Arch]
		fmt.Fprintf(&b, "%s: %s\n", name, r.Verdict)
		for _, x := range r.Reasons {
			fmt.Fprintf(&b, "  - %s\n", x)
		}
		for _, x := range r.Notes {
			fmt.Fprintf(&b, "  note: %s\n", x)
		}
	}
	tpmLine := "no TPM device"
	switch {
	case s.TPMError != "":
		tpmLine = "unknown (" + s.TPMError + ")"
	case s.TPM.Present:
		tpmLine = fmt.Sprintf("TPM %d.0 at %s", s.TPM.VersionMajor, s.TPM.Device)
		if s.TPM.Driver != "" {
			tpmLine += ", driver " + s.TPM.Driver
		}
		if s.TPM.Locality >= 0 {
			tpmLine += fmt.Sprintf(", locality %d", s.TPM.Locality)
		}
	}
	fmt.Fprintf(&b, "CPU: %s, signature %#x; TPM: %s\n", strings.TrimSpace(s.CPU.Vendor), uint32(s.CPU.Signature), tpmLine)
	return b.String()
}

// Text is the verdict on the DRTM log named log (`slkit drtm verify`):
// one line, then PCR17 and PCR18 of each bank with what the log says.
func (r *DRTMReport) Text(log string) string {
	var b strings.Builder
	verdict := "DRTM happened: " + log + " replays to PCR 17 and 18 in every bank it carries"
	if !r.OK {
		verdict = "DRTM did not happen"
	}
	fmt.Fprintln(&b, verdict)
	for _, x := range r.Banks {
		st := "log matches"
		switch {
		case x.InLog && r.LogError != "":
			st = "the log does not replay: " + r.LogError
		case !x.InLog && x.Match:
			st = "not in the log; PCR 17 left its reset value"
		case !x.InLog:
			st = "not in the log"
		case !x.Match:
			st = fmt.Sprintf("log gives PCR17 %s, PCR18 %s", x.Log17.Short(), x.Log18.Short())
		}
		fmt.Fprintf(&b, "  %-6s PCR17 %s  PCR18 %s  %s\n", x.Bank, x.PCR17, x.PCR18, st)
	}
	return b.String()
}

// Text lists PCR17 and PCR18 of every bank predicted.
func (p *Prediction) Text() string {
	var b strings.Builder
	for _, a := range p.Banks {
		p17, _ := p.PCRs.Get(a, PCRDCE)
		p18, _ := p.PCRs.Get(a, PCRPolicy)
		fmt.Fprintf(&b, "  %s PCR17 %s\n  %s PCR18 %s\n", a, p17, a, p18)
	}
	return b.String()
}
