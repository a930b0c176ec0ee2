package slaunch

import (
	"bytes"
	"fmt"
	"io"

	"github.com/slkit/slkit/tpm"
)

// SKLBanks are the banks a real secure-kernel-loader extends and logs:
// SHA-1 and SHA-256 only (main.c extend_pcr; event_log.c HASH_COUNT 2).
// The DLME extends the banks of the log's Spec ID header, so these too.
var SKLBanks = []tpm.Alg{tpm.SHA1, tpm.SHA256}

type predictConfig struct{ logBanks []tpm.Alg }

// PredictOption configures PredictSKINIT.
type PredictOption func(*predictConfig)

// WithLogBanks sets the banks the DCE and the DLME extend (default SKLBanks).
func WithLogBanks(algs ...tpm.Alg) PredictOption {
	return func(c *predictConfig) { c.logBanks = algs }
}

// SKINITInput is what a hardware SKINIT launch measures.
type SKINITInput struct {
	// SKL is the DCE; SKINIT measures its first MeasuredSize bytes.
	SKL *SKL
	// DLMEEntry is DL_INFO.dlme_entry (an offset in the DLME).
	DLMEEntry uint32
	// DLME is the DL_INFO.dlme_size bytes at dlme_base (LinuxDLME).
	DLME io.Reader
	// SLRT holds the ENTRY_POLICY the DLME measures.
	SLRT    *SLRT
	Cmdline string
	Initrd  io.Reader
}

// PredictSKINIT predicts an AMD SKINIT launch with a secure-kernel-loader:
//
//	PCR17 = E(E(E(0, H(SLB[0:measured_size])), H(le32 dlme_entry)), H(DLME))
//	PCR18 = the ENTRY_POLICY measurements in order, from 0
//
// with E(p, d) = H(p ‖ d). The first term is the TPM's (SKINIT's
// _TPM_Hash) in every bank; the others only in the log banks (SKLBanks
// unless WithLogBanks), so in any other active bank PCR17 stays
// E(0, H(SLB[0:measured_size])) and PCR18 stays 0.
func PredictSKINIT(in SKINITInput, banks []tpm.Alg, opts ...PredictOption) (*Prediction, error) {
	cfg := predictConfig{logBanks: SKLBanks}
	for _, o := range opts {
		o(&cfg)
	}
	if in.SKL == nil || in.SLRT == nil || in.DLME == nil {
		return nil, fmt.Errorf("%w: SKINIT prediction needs the SKL, the DLME and the SLRT", ErrPredict)
	}
	ms := []measurement{
		{pcr: PCRDCE, desc: DescDLMEEntry, by: ActorDCE, data: bytes.NewReader(le32(in.DLMEEntry))},
		{pcr: PCRDCE, desc: DescDLME, by: ActorDCE, data: in.DLME},
	}
	pol, err := policyMeasurements(in.SLRT, []byte(in.Cmdline), in.Initrd)
	if err != nil {
		return nil, err
	}
	return predictDRTM(banks, cfg.logBanks, in.SKL.Measured(), append(ms, pol...))
}

// LinuxDLME returns the DLME a TrenchBoot loader hands a Secure Launch
// kernel's DCE (GRUB loader/slaunch/slrt.c grub_setup_slrt_dl_info): the
// protected-mode code from its start to the MLE header's End (dlme_base =
// mle_start, dlme_size = mle_end), and dlme_entry = the MLE EntryPoint.
// A kernel without an MLE header gets ErrNoMLEHeader.
func LinuxDLME(r io.ReaderAt, size int64) (entry uint32, dlme *io.SectionReader, mle *MLEHeader, err error) {
	mle, bz, err := FindMLEHeader(r, size)
	if err != nil {
		return 0, nil, nil, err
	}
	if bz.SetupSize+int64(mle.End) > size {
		return 0, nil, nil, formatErr("kernel", mle.FileOffset+36, "MLE end %#x lies past the %d-byte image", mle.End, size)
	}
	return mle.EntryPoint, io.NewSectionReader(r, bz.SetupSize, int64(mle.End)), mle, nil
}

// TXT event types of the SINIT ACM (TXT SDG Appendix E; drtm.md §4:
// 0x402 HASH_START, 0x404 MLE_HASH).
const (
	evTXTHashStart = 0x402
	evTXTMLEHash   = 0x404
)

// TXTInput is what an Intel TXT launch measures.
type TXTInput struct {
	// ACMLog is the DRTM log as the SINIT ACM leaves it (read back from
	// LOG_INFO's buffer after a launch, or captured on the same platform
	// with the same ACM and policy): its PCR17/18 events are taken as is.
	ACMLog *tpm.EventLog
	// MLE, when given, is checked against the log's MLE_HASH event.
	MLE io.Reader
	// SLRT holds the ENTRY_POLICY the DLME measures.
	SLRT    *SLRT
	Cmdline string
	Initrd  io.Reader
}

// PredictTXT predicts an Intel TXT launch as far as it is reproducible.
//
// Taken from the ACM's log: everything the ACM extends — HASH_START
// (H(SinitHash ‖ EDX), which _TPM_Hash puts in PCR17), BIOS ACM
// registration, S-CRTM status, PolicyControl, the LCP elements, the STM,
// the capabilities (PCR17), the SINIT public key and the rest of the
// details/authorities map in PCR18 — because they depend on the ACM's
// signature, fuses and launch control policy, not on anything slkit stages.
//
// Predicted: the MLE measurement (MLE_HASH 0x404, H(MLE) of the pages the
// MLE page tables map, contiguous from the MLE's start as every TrenchBoot
// loader builds them), checked against the log when MLE is given; and every
// DLME policy measurement of the SLRT (SLRT entity, command line, initrd).
//
// Banks: those of the ACM's log (all active banks under the maximum-agility
// extend policy that slkit's OsSinitData asks for).
func PredictTXT(in TXTInput) (*Prediction, error) {
	if in.ACMLog == nil || in.ACMLog.SpecID == nil || in.SLRT == nil {
		return nil, fmt.Errorf("%w: TXT prediction needs the ACM's crypto-agile log and the SLRT", ErrPredict)
	}
	banks := in.ACMLog.Algs()
	var events []Event
	mleEvent := -1
	for _, e := range in.ACMLog.Events {
		if e.Type == tpm.EvNoAction || (e.PCR != PCRDCE && e.PCR != PCRPolicy) {
			continue
		}
		if e.Type == EventType {
			break // the DLME's events start here
		}
		desc := e.Description()
		if desc == "" {
			desc = fmt.Sprintf("ACM event %#x", uint32(e.Type))
		}
		by := ActorACM
		if e.Type == evTXTHashStart {
			by = ActorTPM
		}
		events = append(events, Event{PCR: e.PCR, Type: e.Type, Digests: e.Digests, Description: desc, By: by})
		if e.Type == evTXTMLEHash && e.PCR == PCRDCE {
			mleEvent = len(events) - 1
		}
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%w: the ACM's log has no PCR17/18 events", ErrPredict)
	}
	if in.MLE != nil {
		if mleEvent < 0 {
			return nil, fmt.Errorf("%w: the ACM's log has no MLE_HASH (0x404) event to check the MLE against", ErrPredict)
		}
		want, err := tpm.HashReader(banks, in.MLE)
		if err != nil {
			return nil, err
		}
		for _, a := range banks {
			if got := events[mleEvent].Digests[a]; !want[a].Equal(got) {
				return nil, fmt.Errorf("%w: the ACM measured a different MLE: %s %s in the log, %s predicted",
					ErrPredict, a, got.Short(), want[a].Short())
			}
		}
	}
	pol, err := policyMeasurements(in.SLRT, []byte(in.Cmdline), in.Initrd)
	if err != nil {
		return nil, err
	}
	return predictEvents(banks, banks, events, pol)
}
