package slaunch

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/slkit/slkit/tpm"
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
	if k := r.Log; k != nil && (k.Unused > 0 || k.Format == KernelLogTPM12) {
		fmt.Fprintf(&b, "  log: %s, %d events, a %d-byte buffer of which %d bytes are unused\n", k.Format, len(k.Log.Events), k.BufferSize, k.Unused)
	}
	if k := r.Log; k != nil && k.Markers > 0 {
		fmt.Fprintf(&b, "  log: %d start/end markers (0x503/0x504) of Secure Launch v14 or earlier: not measurements, not replayed\n", k.Markers)
	}
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
	if x := r.TXT; x != nil {
		var regs []string
		for _, f := range []struct {
			name string
			v    *Reg
		}{{"STS", x.STS}, {"ESTS", x.ESTS}, {"ERRORCODE", x.ErrorCode}, {"DIDVID", x.DIDVID}, {"VER.EMIF", x.VerEMIF}, {"SCRATCHPAD", x.Scratchpad}, {"E2STS", x.E2STS}} {
			if f.v != nil {
				regs = append(regs, fmt.Sprintf("%s %#x", f.name, uint64(*f.v)))
			}
		}
		fmt.Fprintf(&b, "  TXT registers (securityfs): %s\n", strings.Join(regs, ", "))
		for _, n := range x.Notes() {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
	}
	return b.String()
}

// Text says what Leave did, and that the log with the leave events is at
// logPath.
func (l *Left) Text(logPath string) string {
	banks := slices.Sorted(maps.Keys(l.Events[0].Digests))
	return fmt.Sprintf("left the dynamic launch: PCR 17 and 18 extended with %q (banks %s); DRTM log with the leave events: %s; "+
		"nothing sealed to this launch unseals until the next dynamic launch\n", DescLeave, tpm.AlgList(banks), logPath)
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
