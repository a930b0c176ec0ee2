package slaunch

import (
	"testing"

	"github.com/slkit/slkit/tpm"
)

// FuzzLeaveLog feeds arbitrary bytes as the launch's DRTM log to the part
// of Leave that reads it and writes the extended log: a log that parses
// (crypto-agile) gets exactly the two leave events appended, every earlier
// event kept with its digests in the log's banks, and the result parses
// again; when the header carries a LOG_POINTER2_1, its next_record_offset
// becomes the new length.
func FuzzLeaveLog(f *testing.F) {
	_, good := fuzzLaunchLog(f, []tpm.Alg{tpm.SHA1, tpm.SHA256})
	f.Add(good)
	f.Add(good[:len(good)-9])
	f.Add([]byte("not a log"))
	evs, err := LeaveEvents([]tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512, tpm.SHA3256, tpm.SHA3384, tpm.SHA3512})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := tpm.ParseEventLog(b)
		if err != nil || l.Format != tpm.FormatCryptoAgile || l.SpecID == nil {
			return
		}
		before := len(l.Events)
		out, err := appendToLog(l, evs)
		if err != nil {
			return // a log bank Go cannot hash, or a log that outgrew its reserved size
		}
		again, err := tpm.ParseEventLog(out)
		if err != nil {
			t.Fatalf("the extended log does not parse: %v", err)
		}
		if len(again.Events) != before+2 {
			t.Fatalf("%d events after appending 2 to %d", len(again.Events), before)
		}
		for _, e := range again.Events[before:] {
			if string(e.Data) != DescLeave || e.Type != EventType {
				t.Fatalf("appended event %+v", e)
			}
		}
		if p, ok := parseLogPointer21(again.SpecID.VendorInfo); ok && p.NextRecordOffset != uint32(len(out)) {
			t.Fatalf("next_record_offset %d, log length %d", p.NextRecordOffset, len(out))
		}
	})
}
