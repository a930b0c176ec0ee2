package tpm

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Parser limits: generous for real firmware, small enough that a hostile
// log cannot make the parser allocate without bound.
const (
	maxDigestsPerEvent = 16
	maxEventData       = 16 << 20
	maxSpecAlgorithms  = 16
)

// Limits of an event log. Real logs are well under a megabyte and a few
// thousand events. A parsed event costs some 500 bytes of memory whatever
// its size on disk (as little as 32 bytes), so the number of events is
// bounded too: a log packing more is refused when its MaxLogEvents+1st
// event is reached, and parsing never takes more than the file's size
// twice (the log keeps a copy of its bytes) plus MaxLogEvents events.
const (
	MaxEventLogSize = 64 << 20
	MaxLogEvents    = 1 << 16
)

// reader is a bounds-checked little-endian cursor that reports errors with
// the current event index and offset.
type reader struct {
	b     []byte
	off   int
	index int
	start int // offset of the current record
	// pad is where the trailing padding begins: b[pad:] is all 0x00 or
	// all 0xFF (len(b) when there is none).
	pad int
}

// newReader returns a reader of b that knows where b's trailing padding
// begins, found once from the end: whether the rest of the log is padding
// is then one comparison per record, not a scan of the rest.
func newReader(b []byte) *reader {
	pad := len(b)
	for _, c := range []byte{0x00, 0xFF} {
		i := len(b)
		for i > 0 && b[i-1] == c {
			i--
		}
		pad = min(pad, i)
	}
	return &reader{b: b, pad: pad}
}

func (r *reader) fail(format string, a ...any) error {
	return &LogError{Index: r.index, Offset: int64(r.off), Msg: fmt.Sprintf(format, a...)}
}

func (r *reader) need(n int, what string) error {
	if n < 0 || len(r.b)-r.off < n {
		return r.fail("truncated: %s needs %d bytes, %d left", what, n, len(r.b)-r.off)
	}
	return nil
}

func (r *reader) u8(what string) (uint8, error) {
	if err := r.need(1, what); err != nil {
		return 0, err
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

func (r *reader) u16(what string) (uint16, error) {
	if err := r.need(2, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v, nil
}

func (r *reader) u32(what string) (uint32, error) {
	if err := r.need(4, what); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

// bytes returns the next n bytes. They alias the reader's buffer, which
// ParseEventLog copies once from its input, so the parsed log owns them.
func (r *reader) bytes(n int, what string) ([]byte, error) {
	if err := r.need(n, what); err != nil {
		return nil, err
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v, nil
}

// onlyPadding reports whether the rest of the log is padding: all zero
// bytes or all 0xFF (erased flash), as some firmware leaves after the last
// event.
func (r *reader) onlyPadding() bool { return r.off >= r.pad }

// ParseEventLog parses a TCG PC Client event log in the crypto-agile format
// (PFP §10.2.2) or the legacy SHA-1 format (PFP §10.2.1). It tolerates the
// quirks of real firmware: a StartupLocality EV_NO_ACTION event, short
// EV_POST_CODE payloads, trailing zero or 0xFF padding, and digests for
// known algorithms that the header does not list. A malformed log gives a
// *LogError (wrapping ErrMalformedLog) naming the event index and offset.
func ParseEventLog(b []byte) (*EventLog, error) {
	if len(b) == 0 {
		return nil, &LogError{Msg: "empty event log"}
	}
	if len(b) > MaxEventLogSize {
		return nil, &LogError{Msg: fmt.Sprintf("%d bytes, more than an event log's %d", len(b), MaxEventLogSize)}
	}
	r := newReader(append([]byte(nil), b...))
	first, err := r.sha1Event()
	if err != nil {
		return nil, err
	}
	l := &EventLog{Format: FormatSHA1}
	if first.Type == EvNoAction && first.PCR == 0 && strings.HasPrefix(string(first.Data), specIDPrefix) {
		spec, err := parseSpecID(first.Data, first.Offset)
		if err != nil {
			return nil, err
		}
		l.SpecID = spec
		l.HeaderDigest = first.Digests[SHA1]
		if spec.Signature == specIDEvent03 {
			l.Format = FormatCryptoAgile
		}
	} else {
		if first.PCR >= NumPCRs && first.Type != EvNoAction {
			return nil, &LogError{Index: 0, Offset: 0, Msg: fmt.Sprintf("PCR index %d out of range: not a TCG event log", first.PCR)}
		}
		l.Events = append(l.Events, first)
	}
	for {
		r.index++
		if r.onlyPadding() {
			break
		}
		if len(l.Events) == MaxLogEvents {
			return nil, r.fail("more than %d events", MaxLogEvents)
		}
		var e Event
		if l.Format == FormatCryptoAgile {
			e, err = r.agileEvent(l.SpecID)
		} else {
			e, err = r.sha1Event()
		}
		if err != nil {
			return nil, err
		}
		l.Events = append(l.Events, e)
	}
	return l, nil
}

// sha1Event reads a TCG_PCR_EVENT (PFP §10.2.1, Table 7).
func (r *reader) sha1Event() (Event, error) {
	r.start = r.off
	e := Event{Index: r.index, Offset: int64(r.off)}
	pcr, err := r.u32("PCRIndex")
	if err != nil {
		return e, err
	}
	typ, err := r.u32("EventType")
	if err != nil {
		return e, err
	}
	d, err := r.bytes(20, "SHA-1 digest")
	if err != nil {
		return e, err
	}
	data, err := r.eventData()
	if err != nil {
		return e, err
	}
	e.Type, e.Data = EventType(typ), data
	if err := r.checkPCR(pcr, e.Type); err != nil {
		return e, err
	}
	e.PCR = int(pcr)
	e.Digests = Digests{SHA1: d}
	e.algOrder = []Alg{SHA1}
	return e, nil
}

// agileEvent reads a TCG_PCR_EVENT2 (PFP §10.2.2, Table 8).
func (r *reader) agileEvent(spec *SpecID) (Event, error) {
	r.start = r.off
	e := Event{Index: r.index, Offset: int64(r.off)}
	pcr, err := r.u32("PCRIndex")
	if err != nil {
		return e, err
	}
	typ, err := r.u32("EventType")
	if err != nil {
		return e, err
	}
	n, err := r.u32("digest count")
	if err != nil {
		return e, err
	}
	if n > maxDigestsPerEvent {
		return e, r.fail("digest count %d exceeds %d", n, maxDigestsPerEvent)
	}
	e.Digests = Digests{}
	for i := 0; i < int(n); i++ {
		aid, err := r.u16("digest algorithm")
		if err != nil {
			return e, err
		}
		a := Alg(aid)
		size, ok := spec.size(a)
		if !ok {
			// Quirk: a digest for a bank the header does not list. Its
			// size is only knowable for algorithms slkit knows.
			if !a.Known() {
				return e, r.fail("digest algorithm %s is neither in the Spec ID header nor known", a)
			}
			size = a.Size()
		}
		if err := r.need(size, "digest"); err != nil {
			return e, r.fail("truncated: %s digest needs %d bytes, %d left", a, size, len(r.b)-r.off)
		}
		d, _ := r.bytes(size, "digest")
		if _, dup := e.Digests[a]; dup {
			return e, r.fail("two %s digests in one event", a)
		}
		e.Digests[a] = d
		e.algOrder = append(e.algOrder, a)
	}
	data, err := r.eventData()
	if err != nil {
		return e, err
	}
	e.Type, e.Data = EventType(typ), data
	if err := r.checkPCR(pcr, e.Type); err != nil {
		return e, err
	}
	e.PCR = int(pcr)
	return e, nil
}

func (r *reader) eventData() ([]byte, error) {
	size, err := r.u32("EventSize")
	if err != nil {
		return nil, err
	}
	if size > maxEventData {
		return nil, r.fail("EventSize %d exceeds %d", size, maxEventData)
	}
	return r.bytes(int(size), "event data")
}

func (r *reader) checkPCR(pcr uint32, typ EventType) error {
	if pcr >= NumPCRs && typ != EvNoAction {
		return &LogError{Index: r.index, Offset: int64(r.start), Msg: fmt.Sprintf("PCR index %d out of range 0-%d", pcr, NumPCRs-1)}
	}
	return nil
}

// parseSpecID decodes TCG_EfiSpecIdEvent (PFP §10.4.5.1, Table 20) from the
// header record's data, which starts at byte offset base+32 in the log.
func parseSpecID(data []byte, base int64) (*SpecID, error) {
	r := newReader(data)
	fail := func(err error) error {
		if le, ok := err.(*LogError); ok {
			le.Index, le.Offset = 0, base+32+le.Offset
			le.Msg = "Spec ID header: " + le.Msg
		}
		return err
	}
	sig, err := r.bytes(16, "signature")
	if err != nil {
		return nil, fail(err)
	}
	s := &SpecID{Signature: string(sig)}
	switch s.Signature {
	case specIDEvent03, specIDEvent02, specIDEvent00:
	default:
		return nil, &LogError{Index: 0, Offset: base + 32,
			Msg: fmt.Sprintf("wrong header: unsupported Spec ID signature %q", strings.TrimRight(s.Signature, "\x00"))}
	}
	if s.PlatformClass, err = r.u32("platformClass"); err != nil {
		return nil, fail(err)
	}
	if s.VersionMinor, err = r.u8("specVersionMinor"); err != nil {
		return nil, fail(err)
	}
	if s.VersionMajor, err = r.u8("specVersionMajor"); err != nil {
		return nil, fail(err)
	}
	if s.Errata, err = r.u8("specErrata"); err != nil {
		return nil, fail(err)
	}
	if s.UintnSize, err = r.u8("uintnSize"); err != nil {
		return nil, fail(err)
	}
	if s.Signature != specIDEvent03 {
		// Legacy header (TCG_EfiSpecIdEventStruct for TPM 1.2): vendorInfo follows.
		if s.UintnSize != 1 && s.UintnSize != 2 {
			return nil, fail(r.fail("wrong header: uintnSize %d (want 1 or 2)", s.UintnSize))
		}
		return s, s.vendorInfo(r, fail)
	}
	if s.VersionMajor != 2 {
		return nil, fail(r.fail("wrong header: Spec ID Event03 with spec version %d.%d (want 2.x)", s.VersionMajor, s.VersionMinor))
	}
	if s.UintnSize != 1 && s.UintnSize != 2 {
		return nil, fail(r.fail("wrong header: uintnSize %d (want 1 or 2)", s.UintnSize))
	}
	n, err := r.u32("numberOfAlgorithms")
	if err != nil {
		return nil, fail(err)
	}
	if n == 0 || n > maxSpecAlgorithms {
		return nil, fail(r.fail("wrong header: numberOfAlgorithms %d (want 1-%d)", n, maxSpecAlgorithms))
	}
	for i := 0; i < int(n); i++ {
		aid, err := r.u16("algorithmId")
		if err != nil {
			return nil, fail(err)
		}
		size, err := r.u16("digestSize")
		if err != nil {
			return nil, fail(err)
		}
		a := Alg(aid)
		if a.Known() && int(size) != a.Size() {
			return nil, fail(r.fail("wrong header: %s digest size %d, want %d", a, size, a.Size()))
		}
		if size == 0 || size > 128 {
			return nil, fail(r.fail("wrong header: %s digest size %d", a, size))
		}
		if _, dup := s.size(a); dup {
			return nil, fail(r.fail("wrong header: %s listed twice", a))
		}
		s.Algorithms = append(s.Algorithms, AlgSize{a, int(size)})
	}
	return s, s.vendorInfo(r, fail)
}

func (s *SpecID) vendorInfo(r *reader, fail func(error) error) error {
	n, err := r.u8("vendorInfoSize")
	if err != nil {
		return fail(err)
	}
	if s.VendorInfo, err = r.bytes(int(n), "vendorInfo"); err != nil {
		return fail(err)
	}
	if r.off < len(r.b) {
		s.Extra = append([]byte(nil), r.b[r.off:]...)
	}
	return nil
}
