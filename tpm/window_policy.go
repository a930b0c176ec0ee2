package tpm

import (
	"encoding/binary"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// CounterBound bounds a sealed object to an update window: two PolicyNV
// assertions (Part 3 §23.9) over the update-window counter, operand A
// being the counter's 8-byte big-endian value at offset 0 — first
// counter ≥ Min (TPM_EO_UNSIGNED_GE), then counter ≤ Max
// (TPM_EO_UNSIGNED_LE, Part 2 §9.2). The counter only ever grows: every
// `slkit launch --update-counter` increments it before it measures. So
// the window opens at the next launch (Min = the value when it was
// prepared + 1: a pre-launch environment that does not increment it never
// opens it) and closes for good after Max−Min+1 launches.
//
// Each assertion extends the policy digest by H(old ‖ TPM_CC_PolicyNV ‖
// H(operandB ‖ offset ‖ operation) ‖ Name of the index), with the Name
// CounterAt computes offline: only a written counter with slkit's
// attributes at that handle satisfies it.
type CounterBound struct {
	Counter  Counter
	Min, Max uint64
}

// policyNV returns the two TPM2_PolicyNV commands for session sess (any
// handle when only the digest update is wanted). The reads are authorized
// with the counter's empty authValue (TPMA_NV_AUTHREAD).
func (b *CounterBound) policyNV(sess tpm2.TPMHandle) []tpm2.PolicyNV {
	cmd := func(v uint64, op tpm2.TPMEO) tpm2.PolicyNV {
		return tpm2.PolicyNV{
			AuthHandle:    b.Counter.auth(),
			NVIndex:       b.Counter.handle(),
			PolicySession: sess,
			OperandB:      tpm2.TPM2BOperand{Buffer: binary.BigEndian.AppendUint64(nil, v)},
			Offset:        0,
			Operation:     op,
		}
	}
	return []tpm2.PolicyNV{cmd(b.Min, tpm2.TPMEOUnsignedGE), cmd(b.Max, tpm2.TPMEOUnsignedLE)}
}

// SealedCounter records a CounterBound in a sealed file.
type SealedCounter struct {
	Index uint32 `json:"index"`
	Name  Digest `json:"name"`
	Min   uint64 `json:"min"`
	Max   uint64 `json:"max"`
}

func (b *CounterBound) sealed() *SealedCounter {
	if b == nil {
		return nil
	}
	return &SealedCounter{Index: b.Counter.Index, Name: b.Counter.Name, Min: b.Min, Max: b.Max}
}

// bound rebuilds the CounterBound, checking that the recorded name is the
// one slkit's counter at that index has.
func (c *SealedCounter) bound() (*CounterBound, error) {
	if c == nil {
		return nil, nil
	}
	want, err := CounterAt(c.Index)
	if err != nil {
		return nil, err
	}
	if !want.Name.Equal(c.Name) {
		return nil, fmt.Errorf("counter %#08x: recorded name %s is not the name of slkit's counter (%s)", c.Index, c.Name.Short(), want.Name.Short())
	}
	if c.Min > c.Max {
		return nil, fmt.Errorf("counter %#08x: window %d..%d is empty", c.Index, c.Min, c.Max)
	}
	return &CounterBound{Counter: *want, Min: c.Min, Max: c.Max}, nil
}
