package tpm

import (
	"encoding/json"
	"fmt"
)

// MaxExpectedSize bounds a file of PCR values (with their events) that
// slkit reads: `slkit predict --json` and `slkit pcr read --json` output.
const MaxExpectedSize = 4 << 20

// Expected is a set of PCR values together with the events expected to
// produce them, in the JSON shape `slkit predict --json` prints and
// `slkit seal --pcr-values` reads:
//
//	{"banks":{"sha256":{"8":"<hex>","9":"<hex>"},...},"events":[<Event JSON>,...]}
//
// Events are optional; when present, a refused unseal can name the first
// event that differs from the current event log.
type Expected struct {
	PCRs
	Events []Event `json:"events,omitempty"`
}

// ParseExpected parses a file of PCR values and their events (at most
// MaxExpectedSize bytes: the caller reads it through that limit).
func ParseExpected(b []byte) (*Expected, error) {
	var x Expected
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, err
	}
	return &x, nil
}

// ParsePCRs parses a file of PCR values as ParseExpected does, leaving
// out its events (a prediction's start: `slkit predict --start`).
func ParsePCRs(b []byte) (*PCRs, error) {
	var p PCRs
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// MarshalJSON writes the banks and the events side by side.
func (x Expected) MarshalJSON() ([]byte, error) {
	banks := x.Banks
	if banks == nil {
		banks = map[Alg]map[int]Digest{}
	}
	return json.Marshal(struct {
		Banks  map[Alg]map[int]Digest `json:"banks"`
		Events []Event                `json:"events,omitempty"`
	}{banks, x.Events})
}

// UnmarshalJSON validates banks (PCR indices, digest sizes) and events.
func (x *Expected) UnmarshalJSON(b []byte) error {
	var p PCRs
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var ev struct {
		Events []Event `json:"events"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	x.PCRs, x.Events = p, ev.Events
	return nil
}
