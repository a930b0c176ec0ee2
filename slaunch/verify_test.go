package slaunch

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// launchedPCRs returns the PCR values the predicted events give, built by
// hand from the events (not through the code under test's replay).
func launchedPCRs(t *testing.T, banks []tpm.Alg, events []Event) *tpm.PCRs {
	t.Helper()
	p := tpm.NewPCRs()
	for _, a := range banks {
		v := map[int][]byte{17: make([]byte, a.Size()), 18: make([]byte, a.Size())}
		for _, e := range events {
			if d, ok := e.Digests[a]; ok {
				v[e.PCR] = sum(a, v[e.PCR], d)
			}
		}
		p.Set(a, 17, v[17])
		p.Set(a, 18, v[18])
	}
	return p
}

func TestCheckDRTM(t *testing.T) {
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256}
	ev := func(pcr int, b byte, desc string) Event {
		return Event{PCR: pcr, Type: EventType, Description: desc, Digests: tpm.Digests{
			tpm.SHA1: bytes.Repeat([]byte{b}, 20), tpm.SHA256: bytes.Repeat([]byte{b}, 32)}}
	}
	events := []Event{ev(17, 1, "SKINIT"), ev(17, 2, "DLME"), ev(18, 3, "Measured Kernel command line")}
	mkLog := func(es []Event) *tpm.EventLog {
		l, err := NewDRTMLog(banks, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if err := l.AppendEvent(e); err != nil {
				t.Fatal(err)
			}
		}
		b, err := l.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		p, err := tpm.ParseEventLog(b)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := launchedPCRs(t, banks, events)
	if err := CheckDRTM(good, mkLog(events)); err != nil {
		t.Fatalf("a matching launch: %v", err)
	}
	// SHA-384 active but not in the log (a real SKL): only the 0xFF check.
	with384 := launchedPCRs(t, banks, events)
	with384.Set(tpm.SHA384, 17, bytes.Repeat([]byte{7}, 48))
	with384.Set(tpm.SHA384, 18, make([]byte, 48))
	if err := CheckDRTM(with384, mkLog(events)); err != nil {
		t.Fatalf("an extra active bank: %v", err)
	}
	noLaunch := launchedPCRs(t, banks, events)
	noLaunch.Set(tpm.SHA256, 17, tpm.OnesDigest(tpm.SHA256))
	ff384 := launchedPCRs(t, banks, events)
	ff384.Set(tpm.SHA384, 17, tpm.OnesDigest(tpm.SHA384))
	only256 := tpm.NewPCRs()
	only256.Banks[tpm.SHA256] = good.Banks[tpm.SHA256]
	for _, tc := range []struct {
		name string
		pcrs *tpm.PCRs
		log  *tpm.EventLog
		want string
	}{
		{"PCR17 all ones", noLaunch, mkLog(events), "DRTM did not happen: PCR 17 (sha256) is still all 0xFF"},
		{"PCR17 all ones in a bank outside the log", ff384, mkLog(events), "PCR 17 (sha384) is still all 0xFF"},
		{"no log", good, nil, "no crypto-agile DRTM event log"},
		{"no PCR17 event", good, mkLog(events[2:]), "the DRTM log has no PCR 17 event"},
		{"another DLME", good, mkLog([]Event{events[0], ev(17, 9, "DLME"), events[2]}), "the DRTM log does not replay to the TPM: sha1 PCR 17 is"},
		{"PCR18 differs", good, mkLog(events[:2]), "sha1 PCR 18 is"},
		{"log bank not active", only256, mkLog(events), "the DRTM log has a sha1 bank, which the TPM does not have active"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDRTM(tc.pcrs, tc.log)
			var nd *NoDRTMError
			if !errors.Is(err, ErrNoDRTM) || !errors.As(err, &nd) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want NoDRTMError containing %q", err, tc.want)
			}
		})
	}
}
