package tpm

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// LogFormat is the on-disk format of an event log.
type LogFormat int

const (
	// FormatCryptoAgile is the TCG PC Client crypto-agile format (PFP §10.2.2):
	// a TPM1.2-style EV_NO_ACTION header carrying "Spec ID Event03", then
	// TCG_PCR_EVENT2 records with one digest per bank.
	FormatCryptoAgile LogFormat = iota
	// FormatSHA1 is the legacy SHA-1-only format (PFP §10.2.1): TCG_PCR_EVENT
	// records, optionally starting with a "Spec ID Event00/02" header.
	FormatSHA1
)

func (f LogFormat) String() string {
	if f == FormatSHA1 {
		return "tcg-sha1"
	}
	return "tcg-crypto-agile"
}

// Signatures of the Spec ID event (PFP §10.4.5.1).
const (
	specIDEvent03 = "Spec ID Event03\x00"
	specIDEvent02 = "Spec ID Event02\x00"
	specIDEvent00 = "Spec ID Event00\x00"
	specIDPrefix  = "Spec ID Event"
)

// AlgSize is one TCG_EfiSpecIdEventAlgorithmSize entry.
type AlgSize struct {
	Alg  Alg `json:"alg"`
	Size int `json:"size"`
}

// SpecID is the TCG_EfiSpecIDEvent carried by the first record of a log
// (PFP §10.4.5.1, Table 20).
type SpecID struct {
	Signature     string    `json:"signature"`
	PlatformClass uint32    `json:"platform_class"`
	VersionMinor  uint8     `json:"version_minor"`
	VersionMajor  uint8     `json:"version_major"`
	Errata        uint8     `json:"errata"`
	UintnSize     uint8     `json:"uintn_size"`
	Algorithms    []AlgSize `json:"algorithms,omitempty"`
	VendorInfo    []byte    `json:"vendor_info,omitempty"`
	// Extra holds bytes after vendorInfo inside the header event (kept so
	// that a parsed log re-marshals to the same bytes).
	Extra []byte `json:"-"`
}

// Algs returns the algorithms the header declares, in header order.
func (s *SpecID) Algs() []Alg {
	out := make([]Alg, len(s.Algorithms))
	for i, a := range s.Algorithms {
		out[i] = a.Alg
	}
	return out
}

func (s *SpecID) size(a Alg) (int, bool) {
	for _, x := range s.Algorithms {
		if x.Alg == a {
			return x.Size, true
		}
	}
	return 0, false
}

// Event is one measurement record.
type Event struct {
	// Index is the record's position in the log; 0 is the first record
	// (the Spec ID header of a crypto-agile log).
	Index int
	// Offset is the byte offset of the record in the log it was parsed
	// from (0 for events built in memory).
	Offset  int64
	PCR     int
	Type    EventType
	Digests Digests
	Data    []byte
	// algOrder keeps the digest order of a parsed record so that it
	// re-marshals to the same bytes.
	algOrder []Alg
}

// Description returns the event data as text when it is text: UTF-8 or
// UTF-16LE (as EFI writes), without trailing NULs; otherwise "".
func (e *Event) Description() string { return describe(e.Data) }

func describe(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	t := bytes.TrimRight(b, "\x00")
	if len(t) > 0 && utf8.Valid(t) && printable(string(t)) {
		return string(t)
	}
	// UTF-16LE: even length, every other byte mostly zero.
	if len(b) >= 4 && len(b)%2 == 0 && b[1] == 0 {
		u := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
		}
		for len(u) > 0 && u[len(u)-1] == 0 {
			u = u[:len(u)-1]
		}
		s := string(utf16.Decode(u))
		if s != "" && printable(s) {
			return s
		}
	}
	return ""
}

func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return false
		}
	}
	return true
}

// EventLog is a parsed or built TCG event log.
type EventLog struct {
	Format LogFormat
	// SpecID is the header of a crypto-agile log (always set) or of a SHA-1
	// log that has one (else nil).
	SpecID *SpecID
	// HeaderDigest is the 20-byte digest field of the header record
	// (normally zero).
	HeaderDigest []byte
	// Events are the records after the header.
	Events []Event
}

// Algs returns the banks the log carries: the Spec ID algorithms of a
// crypto-agile log, or SHA-1.
func (l *EventLog) Algs() []Alg {
	if l.Format == FormatSHA1 {
		return []Alg{SHA1}
	}
	return l.SpecID.Algs()
}

// NewEventLog returns an empty crypto-agile log whose Spec ID header
// declares algs (PFP §10.4.5.1: platform class 0 = client, spec version
// 2.0 errata 0, UINTN size 2 = 64-bit).
func NewEventLog(algs []Alg) (*EventLog, error) {
	if len(algs) == 0 {
		return nil, fmt.Errorf("event log: no algorithms")
	}
	s := &SpecID{Signature: specIDEvent03, VersionMajor: 2, UintnSize: 2}
	seen := map[Alg]bool{}
	for _, a := range algs {
		if !a.Known() {
			return nil, fmt.Errorf("event log: %w: %s", ErrUnknownAlg, a)
		}
		if seen[a] {
			return nil, fmt.Errorf("event log: %s listed twice", a)
		}
		seen[a] = true
		s.Algorithms = append(s.Algorithms, AlgSize{a, a.Size()})
	}
	return &EventLog{Format: FormatCryptoAgile, SpecID: s, HeaderDigest: make([]byte, 20)}, nil
}

// Append adds an event. For a crypto-agile log, ds must hold a digest of
// the right size for every algorithm of the header (EV_NO_ACTION events may
// carry zero digests); for a SHA-1 log, exactly a SHA-1 digest.
func (l *EventLog) Append(pcr int, typ EventType, ds Digests, data []byte) (*Event, error) {
	if pcr < 0 || pcr >= NumPCRs {
		return nil, fmt.Errorf("event log: PCR %d out of range", pcr)
	}
	for _, a := range l.Algs() {
		d, ok := ds[a]
		if !ok {
			return nil, fmt.Errorf("event log: event for PCR %d has no %s digest", pcr, a)
		}
		if len(d) != a.Size() {
			return nil, fmt.Errorf("event log: %s digest is %d bytes, want %d", a, len(d), a.Size())
		}
	}
	if len(ds) != len(l.Algs()) {
		return nil, fmt.Errorf("event log: event for PCR %d has digests for banks not in the log header", pcr)
	}
	idx := len(l.Events)
	if l.SpecID != nil {
		idx++
	}
	e := Event{Index: idx, PCR: pcr, Type: typ, Digests: Digests{}, Data: append([]byte(nil), data...)}
	for a, d := range ds {
		e.Digests[a] = append(Digest(nil), d...)
	}
	l.Events = append(l.Events, e)
	return &l.Events[len(l.Events)-1], nil
}

// AppendData hashes data in every bank of the log and appends the event.
func (l *EventLog) AppendData(pcr int, typ EventType, measured, eventData []byte) (*Event, error) {
	ds, err := HashBytes(l.Algs(), measured)
	if err != nil {
		return nil, err
	}
	return l.Append(pcr, typ, ds, eventData)
}

// EventsFor returns the events that extend pcr (EV_NO_ACTION excluded).
func (l *EventLog) EventsFor(pcr int) []Event {
	var out []Event
	for _, e := range l.Events {
		if e.PCR == pcr && e.Type != EvNoAction {
			out = append(out, e)
		}
	}
	return out
}

func (s *SpecID) String() string {
	return strings.TrimRight(s.Signature, "\x00")
}

// FirmwareLogPath is where Linux exposes the firmware's TCG event log
// (securityfs, drivers/char/tpm/eventlog).
const FirmwareLogPath = "/sys/kernel/security/tpm0/binary_bios_measurements"
