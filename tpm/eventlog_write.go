package tpm

import (
	"encoding/binary"
	"fmt"
)

// MarshalBinary encodes the log in its format (PFP §10.2). A parsed log
// re-encodes to the bytes it was parsed from, minus trailing padding.
func (l *EventLog) MarshalBinary() ([]byte, error) {
	var b []byte
	if l.SpecID != nil {
		hd := l.HeaderDigest
		if hd == nil {
			hd = make([]byte, 20)
		}
		if len(hd) != 20 {
			return nil, fmt.Errorf("event log: header digest is %d bytes, want 20", len(hd))
		}
		b = appendSHA1Event(b, 0, EvNoAction, hd, l.SpecID.marshal())
	}
	for i := range l.Events {
		e := &l.Events[i]
		if l.Format == FormatSHA1 {
			d := e.Digests[SHA1]
			if len(d) != 20 {
				return nil, fmt.Errorf("event log: event %d has no SHA-1 digest", e.Index)
			}
			b = appendSHA1Event(b, e.PCR, e.Type, d, e.Data)
			continue
		}
		order := e.algOrder
		if len(order) != len(e.Digests) {
			order = l.digestOrder(e.Digests)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(e.PCR))
		b = binary.LittleEndian.AppendUint32(b, uint32(e.Type))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(order)))
		for _, a := range order {
			b = binary.LittleEndian.AppendUint16(b, uint16(a))
			b = append(b, e.Digests[a]...)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b, nil
}

// digestOrder lists an event's algorithms in header order, then any others.
func (l *EventLog) digestOrder(ds Digests) []Alg {
	var out []Alg
	seen := map[Alg]bool{}
	for _, a := range l.Algs() {
		if _, ok := ds[a]; ok {
			out = append(out, a)
			seen[a] = true
		}
	}
	for _, a := range ds.Algs() {
		if !seen[a] {
			out = append(out, a)
		}
	}
	return out
}

func appendSHA1Event(b []byte, pcr int, typ EventType, digest, data []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(pcr))
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	b = append(b, digest...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// marshal encodes TCG_EfiSpecIdEvent (PFP §10.4.5.1, Table 20).
func (s *SpecID) marshal() []byte {
	b := append([]byte(nil), []byte(s.Signature)...)
	b = binary.LittleEndian.AppendUint32(b, s.PlatformClass)
	b = append(b, s.VersionMinor, s.VersionMajor, s.Errata, s.UintnSize)
	if s.Signature == specIDEvent03 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Algorithms)))
		for _, a := range s.Algorithms {
			b = binary.LittleEndian.AppendUint16(b, uint16(a.Alg))
			b = binary.LittleEndian.AppendUint16(b, uint16(a.Size))
		}
	}
	b = append(b, byte(len(s.VendorInfo)))
	b = append(b, s.VendorInfo...)
	return append(b, s.Extra...)
}
