package tpm

import (
	"bytes"
	"fmt"
	"hash"
)

// startupLocalitySig is the signature of the StartupLocality EV_NO_ACTION
// event (PFP §10.4.5.3): PCR0 starts at the locality value instead of zero.
const startupLocalitySig = "StartupLocality\x00"

type replayConfig struct {
	start *PCRs
	algs  []Alg
}

// ReplayOption configures Replay.
type ReplayOption func(*replayConfig)

// WithStartValues starts the given PCRs from the given values instead of
// their reset values (for predicting what a log will add to a running TPM).
func WithStartValues(p *PCRs) ReplayOption { return func(c *replayConfig) { c.start = p } }

// WithBanks replays only these banks (default: every bank of the log whose
// algorithm slkit can compute).
func WithBanks(algs ...Alg) ReplayOption { return func(c *replayConfig) { c.algs = algs } }

// Replay computes the PCR values the log's events produce, for every bank of
// the log. PCRs start at zero, except PCR0 after a StartupLocality event
// (0…0L, L the locality) and any PCR given WithStartValues. EV_NO_ACTION
// events are not extended. An event with no digest for a bank does not
// extend that bank (as tpm2_eventlog does). The result holds the PCRs that
// HashableAlgs are the log's banks slkit can hash, in the log's order:
// those Replay replays by default.
func (l *EventLog) HashableAlgs() []Alg {
	var algs []Alg
	for _, a := range l.Algs() {
		if _, err := a.Hash(); err == nil {
			algs = append(algs, a)
		}
	}
	return algs
}

// at least one event extends, plus those given WithStartValues.
func (l *EventLog) Replay(opts ...ReplayOption) (*PCRs, error) {
	cfg := replayConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	algs := cfg.algs
	if algs == nil {
		algs = l.HashableAlgs()
	}
	// One hasher per bank, reused; PCR state in fixed arrays.
	type bankState struct {
		alg  Alg
		h    hash.Hash
		pcr  [NumPCRs][]byte
		init [NumPCRs]bool
	}
	banks := make([]*bankState, 0, len(algs))
	for _, a := range algs {
		h, err := a.New()
		if err != nil {
			return nil, err
		}
		b := &bankState{alg: a, h: h}
		if cfg.start != nil {
			for _, i := range cfg.start.Indices(a) {
				v, _ := cfg.start.Get(a, i)
				b.pcr[i], b.init[i] = append([]byte(nil), v...), true
			}
		}
		banks = append(banks, b)
	}
	locality := -1
	for _, e := range l.Events {
		if e.Type == EvNoAction {
			if e.PCR == 0 && len(e.Data) == len(startupLocalitySig)+1 && bytes.HasPrefix(e.Data, []byte(startupLocalitySig)) {
				locality = int(e.Data[len(startupLocalitySig)])
			}
			continue
		}
		for _, b := range banks {
			d, ok := e.Digests[b.alg]
			if !ok {
				continue
			}
			if len(d) != b.alg.Size() {
				return nil, fmt.Errorf("%w: event %d: %s digest is %d bytes", ErrMalformedLog, e.Index, b.alg, len(d))
			}
			if !b.init[e.PCR] {
				b.pcr[e.PCR] = make([]byte, b.alg.Size())
				if e.PCR == 0 && locality >= 0 {
					b.pcr[0][b.alg.Size()-1] = byte(locality)
				}
				b.init[e.PCR] = true
			}
			b.h.Reset()
			b.h.Write(b.pcr[e.PCR])
			b.h.Write(d)
			b.pcr[e.PCR] = b.h.Sum(b.pcr[e.PCR][:0])
		}
	}
	out := NewPCRs()
	for _, b := range banks {
		for i := range b.pcr {
			if b.init[i] {
				out.Set(b.alg, i, b.pcr[i])
			}
		}
	}
	return out, nil
}
