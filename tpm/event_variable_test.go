package tpm_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

func uefiVariableData(name string, data []byte) []byte {
	u := utf16.Encode([]rune(name))
	b := make([]byte, 16, 32+2*len(u)+len(data))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(u)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, data...)
}

func TestUEFIVariableName(t *testing.T) {
	ok := uefiVariableData("BootOrder", []byte{1, 0, 0, 0})
	for _, c := range []struct {
		typ  tpm.EventType
		data []byte
		want string
	}{
		{tpm.EvEFIVariableBoot, ok, "BootOrder"},
		{tpm.EvEFIVariableDriverConfig, uefiVariableData("db", nil), "db"},
		{tpm.EvIPL, ok, ""},
		{tpm.EvEFIVariableBoot, ok[:len(ok)-1], ""},                                                     // data runs past the end
		{tpm.EvEFIVariableBoot, ok[:20], ""},                                                            // truncated header
		{tpm.EvEFIVariableBoot, uefiVariableData("", []byte{1}), ""},                                    // no name
		{tpm.EvEFIVariableBoot, uefiVariableData("a\x01b", nil), ""},                                    // not printable
		{tpm.EvEFIVariableBoot, append(ok[:16:16], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ""}, // huge length
	} {
		e := tpm.Event{Type: c.typ, Data: c.data}
		if got := e.UEFIVariableName(); got != c.want {
			t.Errorf("%v %x: %q, want %q", c.typ, c.data, got, c.want)
		}
	}
}

// FuzzUEFIVariableName: any event data gives a name or "" without
// panicking, and a name re-encodes to data that gives the same name.
func FuzzUEFIVariableName(f *testing.F) {
	f.Add(uefiVariableData("BootOrder", []byte{1, 0}))
	f.Add(uefiVariableData("Boot0001", make([]byte, 62)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := tpm.Event{Type: tpm.EvEFIVariableBoot, Data: b}
		name := e.UEFIVariableName()
		if name == "" {
			return
		}
		again := tpm.Event{Type: tpm.EvEFIVariableBoot, Data: uefiVariableData(name, nil)}
		if got := again.UEFIVariableName(); got != name {
			t.Fatalf("%q re-encoded gives %q", name, got)
		}
	})
}

// TestRefusalNamesUEFIVariable: a refusal over a firmware PCR names the
// variable whose measurement differs (firmware events carry no text).
func TestRefusalNamesUEFIVariable(t *testing.T) {
	tt := tpmtest.Open(t)
	banks, _ := tpm.ActiveBanks(tt)
	log := func(order []byte) *tpm.EventLog {
		l, _ := tpm.NewEventLog(banks)
		l.AppendData(1, tpm.EvEFIVariableBoot, order, uefiVariableData("BootOrder", order))
		l.AppendData(1, tpm.EvEFIVariableBoot, []byte("option"), uefiVariableData("Boot0000", []byte("option")))
		return l
	}
	sealed := log([]byte{0, 0})
	want, _ := sealed.Replay()
	pol, _ := tpm.PolicyFor(tpm.SHA256, []int{1}, want)
	s, err := tpm.Seal(tt, []byte("k"), pol, tpm.WithExpectedEvents(sealed.Events))
	if err != nil {
		t.Fatal(err)
	}
	now := log([]byte{1, 0, 0, 0})
	for _, e := range now.Events {
		tpm.Extend(tt, e.PCR, e.Digests)
	}
	_, err = tpm.Unseal(tt, s, tpm.WithEventLogs(now))
	if err == nil || !strings.Contains(err.Error(), `PCR 1: event 1 "BootOrder" sha256 differs`) {
		t.Fatalf("refusal %v", err)
	}
}
