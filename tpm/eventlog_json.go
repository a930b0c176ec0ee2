package tpm

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// eventJSON is the JSON form of an Event (slkit's own export format).
type eventJSON struct {
	Index       int     `json:"index"`
	Offset      int64   `json:"offset"`
	PCR         int     `json:"pcr"`
	Type        string  `json:"type"`
	TypeCode    uint32  `json:"type_code"`
	Digests     Digests `json:"digests"`
	Data        string  `json:"data"`
	Description string  `json:"description,omitempty"`
}

// MarshalJSON encodes the event with its type name and code, digests per
// bank and data in hex, and a text description when the data is text.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(eventJSON{
		Index: e.Index, Offset: e.Offset, PCR: e.PCR,
		Type: e.Type.String(), TypeCode: uint32(e.Type),
		Digests: e.Digests, Data: hex.EncodeToString(e.Data), Description: e.Description(),
	})
}

// UnmarshalJSON decodes what MarshalJSON wrote; type_code wins over type.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	data, err := hex.DecodeString(j.Data)
	if err != nil {
		return fmt.Errorf("event %d: data: %w", j.Index, err)
	}
	typ := EventType(j.TypeCode)
	if j.TypeCode == 0 && j.Type != "" {
		if typ, err = ParseEventType(j.Type); err != nil {
			return fmt.Errorf("event %d: %w", j.Index, err)
		}
	}
	if j.PCR < 0 || j.PCR >= NumPCRs {
		return fmt.Errorf("event %d: PCR %d out of range", j.Index, j.PCR)
	}
	for a, d := range j.Digests {
		if len(d) != a.Size() {
			return fmt.Errorf("event %d: %s digest is %d bytes, want %d", j.Index, a, len(d), a.Size())
		}
	}
	*e = Event{Index: j.Index, Offset: j.Offset, PCR: j.PCR, Type: typ, Digests: j.Digests, Data: data}
	return nil
}

type logJSON struct {
	Format string  `json:"format"`
	SpecID *SpecID `json:"spec_id,omitempty"`
	Events []Event `json:"events"`
}

// MarshalJSON exports the log as
//
//	{"format":"tcg-crypto-agile","spec_id":{...},"events":[{"index":1,"offset":..,"pcr":0,
//	  "type":"EV_S_CRTM_VERSION","type_code":8,"digests":{"sha256":"…"},"data":"…","description":"…"},…]}
func (l *EventLog) MarshalJSON() ([]byte, error) {
	ev := l.Events
	if ev == nil {
		ev = []Event{}
	}
	return json.Marshal(logJSON{Format: l.Format.String(), SpecID: l.SpecID, Events: ev})
}
