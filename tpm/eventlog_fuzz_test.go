package tpm_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// FuzzParseEventLog checks that any input either fails with a LogError or
// parses into a log that re-encodes and re-parses to the same events,
// replays without error, and exports as CEL-JSON exactly as a port of
// systemd-pcrlock does (or is refused where systemd refuses it).
func FuzzParseEventLog(f *testing.F) {
	f.Add(unhex(f, goldenLog))
	f.Add([]byte{})
	f.Add(make([]byte, 32))
	f.Add(celLog(celEvents))
	if b, err := os.ReadFile(filepath.Join("testdata", "eventlogs", "ovmf-q35-swtpm.bin")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := tpm.ParseEventLog(b)
		if err != nil {
			var le *tpm.LogError
			if !errors.As(err, &le) || !errors.Is(err, tpm.ErrMalformedLog) {
				t.Fatalf("error is not a LogError: %v", err)
			}
			if le.Offset < 0 || le.Offset > int64(len(b)) {
				t.Fatalf("offset %d outside input of %d bytes", le.Offset, len(b))
			}
			return
		}
		enc, err := l.MarshalBinary()
		if err != nil {
			t.Fatalf("marshal parsed log: %v", err)
		}
		if !bytes.Equal(enc, b[:len(enc)]) {
			t.Fatalf("re-encoding differs from input")
		}
		l2, err := tpm.ParseEventLog(enc)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(l2.Events) != len(l.Events) {
			t.Fatalf("re-parse: %d events, want %d", len(l2.Events), len(l.Events))
		}
		if _, err := l.Replay(); err != nil {
			t.Fatalf("replay: %v", err)
		}
		// CEL-JSON: what the port of systemd-pcrlock's reader and writer
		// computes from the raw bytes, or refused where systemd fails.
		cel, err := l.MarshalCEL()
		sd, sdErr := systemdCEL(b, true)
		switch {
		case err != nil && !errors.Is(err, tpm.ErrNotCEL):
			t.Fatal(err)
		case err == nil && sdErr != nil:
			t.Fatalf("CEL-JSON: slkit exported a log systemd refuses: %v", sdErr)
		case err != nil && sdErr == nil && !otherLayout(b):
			t.Fatalf("CEL-JSON: slkit %v, systemd %v", err, sdErr)
		case err != nil && sdErr == nil && otherLayout(b):
			// systemd read other event boundaries than the TCG layout
			// (an event's digests are not the header's sizes): slkit
			// refuses instead of exporting another reading.
		case err == nil && string(cel) != sd:
			t.Fatalf("CEL-JSON differs from systemd's:\n%s\n%s", cel, sd)
		}
	})
}

// otherLayout reports whether some event of the crypto-agile log raw (TCG
// PFP §10.2.2 layout) has digests whose sizes are not the header's, so
// that systemd, which reads every event's digests with the header's sizes,
// reads the events after it from other offsets. It reads the bytes itself,
// independently of ParseEventLog.
func otherLayout(raw []byte) bool {
	le := binary.LittleEndian
	size := int(le.Uint32(raw[28:]))
	id := raw[32 : 32+size]
	n := int(le.Uint32(id[24:]))
	header := map[uint16]int{}
	for i := 0; i < n; i++ {
		header[le.Uint16(id[28+4*i:])] = int(le.Uint16(id[30+4*i:]))
	}
	known := map[uint16]int{0x4: 20, 0xB: 32, 0xC: 48, 0xD: 64, 0x12: 32, 0x27: 32, 0x28: 48, 0x29: 64}
	for off := 32 + size; off+12 <= len(raw); {
		rest := raw[off:]
		if bytes.Count(rest, []byte{0}) == len(rest) || bytes.Count(rest, []byte{0xFF}) == len(rest) {
			return false // padding
		}
		count := int(le.Uint32(raw[off+8:]))
		p := off + 12
		for j := 0; j < count; j++ {
			if p+2 > len(raw) {
				return false
			}
			a := le.Uint16(raw[p:])
			s, ok := header[a]
			if !ok {
				s, ok = known[a]
			}
			if !ok || s != header[a] || count != n {
				return true
			}
			p += 2 + s
		}
		if p+4 > len(raw) {
			return false
		}
		off = p + 4 + int(le.Uint32(raw[p:]))
	}
	return false
}
