package tpm_test

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// tinySHA1Log is a legacy SHA-1 log (PFP §10.2.1) of n events with no
// data: 32 bytes each, the smallest record either format has.
func tinySHA1Log(n int) []byte {
	b := make([]byte, 0, 32*n)
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, uint32(i%8)) // PCRIndex
		b = binary.LittleEndian.AppendUint32(b, 0xD)         // EV_IPL
		b = append(b, byte(i), byte(i>>8), byte(i>>16), 1)   // digest
		b = append(b, make([]byte, 16)...)                   //   (20 bytes)
		b = binary.LittleEndian.AppendUint32(b, 0)           // EventSize
	}
	return b
}

// TestEventLogMemoryIsBounded parses 2 million tiny events (64 MB): the
// parser may allocate no more than a small multiple of the file, however
// many events the file packs. Every parsed event costs far more memory
// than its 32 bytes on disk, so the number of events is limited
// (tpm.MaxLogEvents) and a log with more is refused as it is reached.
func TestEventLogMemoryIsBounded(t *testing.T) {
	const n = 2_000_000
	log := tinySHA1Log(n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := tpm.ParseEventLog(log)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d events, %d MB: %v; allocated %d MB (%.2f× the file)", n, len(log)>>20, err, allocated>>20, float64(allocated)/float64(len(log)))
	if limit := 3 * uint64(len(log)); allocated > limit {
		t.Errorf("parsing %d bytes allocated %d bytes, more than 3× the file", len(log), allocated)
	}
	if l != nil && len(l.Events) > tpm.MaxLogEvents {
		t.Errorf("parsed %d events, the limit is %d", len(l.Events), tpm.MaxLogEvents)
	}
	// A log at the limit parses.
	if l, err := tpm.ParseEventLog(tinySHA1Log(tpm.MaxLogEvents)); err != nil || len(l.Events) != tpm.MaxLogEvents {
		t.Fatalf("a log of %d events: %v", tpm.MaxLogEvents, err)
	}
}

// TestEventLogZeroEventsLinear: a log of all-zero records (each a valid
// legacy event: PCR 0, type 0, zero digest, no data) with one non-zero
// byte at the end. Deciding per record whether the rest of the log is
// padding must not rescan the rest each time (quadratic: hours for a few
// megabytes); the log is refused at MaxLogEvents.
func TestEventLogZeroEventsLinear(t *testing.T) {
	b := make([]byte, 32*(tpm.MaxLogEvents+10)+1)
	b[len(b)-1] = 1
	if _, err := tpm.ParseEventLog(b); err == nil || !strings.Contains(err.Error(), "events") {
		t.Fatalf("err = %v, want the event limit", err)
	}
}
