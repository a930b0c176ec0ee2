package tpm_test

import (
	"bytes"
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
		case (err == nil) != (sdErr == nil):
			t.Fatalf("CEL-JSON: slkit %v, systemd %v", err, sdErr)
		case err == nil && string(cel) != sd:
			t.Fatalf("CEL-JSON differs from systemd's:\n%s\n%s", cel, sd)
		}
	})
}
