package tpm_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
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

// FuzzUEFIVariable: data that parses re-encodes to exactly the same bytes
// (what the predictor relies on to rebuild an event), and anything else
// is refused without panicking.
func FuzzUEFIVariable(f *testing.F) {
	f.Add(uefiVariableData("BootOrder", []byte{1, 0}))
	f.Add(uefiVariableData("db", make([]byte, 48)))
	f.Add(append(uefiVariableData("PK", nil), 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := tpm.Event{Type: tpm.EvEFIVariableDriverConfig, Data: b}
		v, ok := e.UEFIVariable()
		if !ok {
			return
		}
		if got := v.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("%x re-encodes to %x", b, got)
		}
	})
}

// TestUEFIVariableData checks the encoding against bytes OVMF measured:
// the BootOrder event of an OVMF 2022.11 boot (BootOrder 0000,0001,0002).
func TestUEFIVariableData(t *testing.T) {
	want, _ := hex.DecodeString("61dfe48bca93d211aa0d00e098032b8c0900000000000000060000000000000042006f006f0074004f007200640065007200000001000200")
	global := [16]byte{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}
	v := tpm.NewUEFIVariableData(global, "BootOrder", []byte{0, 0, 1, 0, 2, 0})
	if got := v.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("marshal\n got %x\nwant %x", got, want)
	}
	e := tpm.Event{Type: tpm.EvEFIVariableBoot, Data: want}
	p, ok := e.UEFIVariable()
	if !ok || p.Name() != "BootOrder" || p.GUID != global || !bytes.Equal(p.Data, []byte{0, 0, 1, 0, 2, 0}) {
		t.Fatalf("parse: %+v %v", p, ok)
	}
	if _, ok := (&tpm.Event{Type: tpm.EvEFIVariableBoot, Data: append(want, 0)}).UEFIVariable(); ok {
		t.Error("a trailing byte after VariableData was accepted")
	}
	if n := (&tpm.Event{Type: tpm.EvEFIVariableBoot, Data: append(want, 0)}).UEFIVariableName(); n != "BootOrder" {
		t.Errorf("the name of an event with a trailing byte: %q", n)
	}
}
