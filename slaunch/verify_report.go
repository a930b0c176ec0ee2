package slaunch

import (
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// DRTMReport is VerifyDRTM's verdict together with what it compared, bank
// by bank (`slkit drtm verify`).
type DRTMReport struct {
	// OK is true when a dynamic launch happened and the log describes it.
	OK bool `json:"ok"`
	// Reason says why not (the *NoDRTMError's reason), empty when OK.
	Reason string `json:"reason,omitempty"`
	// LogError is why the log, which carries the banks it lists, could
	// not be replayed (empty when it could, or when there is no log).
	LogError string `json:"log_error,omitempty"`
	// Banks are the TPM's active banks, in its order.
	Banks []BankReport `json:"banks"`
	// Log describes the log read when it came from a Secure Launch
	// kernel's securityfs buffer (or any buffer ParseKernelLog read).
	Log *KernelLog `json:"log,omitempty"`
	// TXT are the TXT registers the kernel reports under securityfs.
	TXT *KernelTXTRegisters `json:"txt_registers,omitempty"`

	err error
}

// BankReport is PCR17 and PCR18 in one bank: the TPM's values and, when
// the log carries the bank, the values the log replays to.
type BankReport struct {
	Bank  tpm.Alg    `json:"bank"`
	PCR17 tpm.Digest `json:"pcr17"`
	PCR18 tpm.Digest `json:"pcr18"`
	// InLog is false for an active bank the DRTM log does not carry
	// (SHA-384 behind a SHA-1/SHA-256 SKL): only PCR17 ≠ 0xFF is checked.
	InLog bool       `json:"in_log"`
	Log17 tpm.Digest `json:"log_pcr17,omitempty"`
	Log18 tpm.Digest `json:"log_pcr18,omitempty"`
	// Match is the bank's own verdict: both PCRs equal the log's (or, for
	// a bank outside the log, PCR17 is not all 0xFF).
	Match bool `json:"match"`
}

// Err is the verdict as an error: nil when OK, else the *NoDRTMError.
func (r *DRTMReport) Err() error { return r.err }

// ReportDRTM reads PCR17 and PCR18 in every active bank once and returns
// CheckDRTM's verdict on them and the log (nil: no log), with each bank's
// values. A TPM failure is returned as the error.
func ReportDRTM(t transport.TPM, log *tpm.EventLog) (*DRTMReport, error) {
	banks, err := tpm.ActiveBanks(t)
	if err != nil {
		return nil, err
	}
	pcrs, err := tpm.ReadBanks(t, banks, []int{PCRDCE, PCRPolicy})
	if err != nil {
		return nil, err
	}
	r := &DRTMReport{err: CheckDRTM(pcrs, log)}
	if r.err == nil {
		r.OK = true
	} else if nd, ok := r.err.(*NoDRTMError); ok {
		r.Reason = nd.Reason
	} else {
		r.Reason = r.err.Error()
	}
	var replayed *tpm.PCRs
	var logBanks []tpm.Alg
	if log != nil && log.SpecID != nil && log.Format == tpm.FormatCryptoAgile {
		logBanks = log.Algs()
		if replayed, err = log.Replay(); err != nil {
			r.LogError = err.Error()
		}
	}
	for _, a := range banks {
		b := BankReport{Bank: a, InLog: containsAlg(logBanks, a)}
		b.PCR17, _ = pcrs.Get(a, PCRDCE)
		b.PCR18, _ = pcrs.Get(a, PCRPolicy)
		switch {
		case b.InLog && replayed == nil:
			// The log carries the bank but does not replay: no match.
		case b.InLog:
			b.Log17 = replayedOrZero(replayed, a, PCRDCE)
			b.Log18 = replayedOrZero(replayed, a, PCRPolicy)
			b.Match = b.PCR17.Equal(b.Log17) && b.PCR18.Equal(b.Log18)
		default:
			b.Match = !b.PCR17.Equal(tpm.OnesDigest(a))
		}
		r.Banks = append(r.Banks, b)
	}
	return r, nil
}

// ReportLaunch is ReportDRTM of the log klog holds (nil: no log), with
// klog and the TXT registers txt (nil: none) in the report, as a launched
// OS reads them (`slkit drtm verify`).
func ReportLaunch(t transport.TPM, klog *KernelLog, txt *KernelTXTRegisters) (*DRTMReport, error) {
	var log *tpm.EventLog
	if klog != nil {
		log = klog.Log
	}
	r, err := ReportDRTM(t, log)
	if r != nil {
		r.Log, r.TXT = klog, txt
	}
	return r, err
}

// replayedOrZero is a replayed PCR, or 0 (its value right after the
// launch's reset) when the log has no event for it.
func replayedOrZero(p *tpm.PCRs, a tpm.Alg, i int) tpm.Digest {
	if v, ok := p.Get(a, i); ok {
		return v
	}
	return tpm.ZeroDigest(a)
}
