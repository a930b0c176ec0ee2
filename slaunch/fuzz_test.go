package slaunch

import (
	"bytes"
	"encoding/json"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Every parser of untrusted bytes: arbitrary input must give a value or an
// error (never a panic), and a value must re-encode to the exact input.

func FuzzParseACM(f *testing.F) {
	f.Add(slaunchtest.ACM(slaunchtest.DefaultACM()))
	old := slaunchtest.DefaultACM()
	old.InfoVer = 3
	f.Add(slaunchtest.ACM(old))
	f.Add(slaunchtest.ACM(slaunchtest.DefaultACM())[:200])
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseACM(b)
		if err != nil {
			return
		}
		out, err := a.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs from the input: %v", err)
		}
		if a.InfoOffset+acmInfoTableSize > int64(len(b)) || int64(a.Size)*4 != int64(len(b)) {
			t.Fatalf("accepted an info table or size outside the image")
		}
		again, err := ParseACM(out)
		if err != nil || !reflect.DeepEqual(a, again) {
			t.Fatalf("re-parse differs: %v", err)
		}
		_ = a.MatchPlatform(readyIDs) // must not panic
		_, _ = a.MatchMLE(&MLEHeader{Version: 0x20002, Capabilities: 0x227}, true)
	})
}

func FuzzParseSKL(f *testing.F) {
	f.Add(slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000))
	f.Add(EmulatedSKL())
	f.Add([]byte{0x40, 0, 0, 1, 8, 0, 0, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSKL(b)
		if err != nil {
			return
		}
		if int(s.MeasuredSize) > len(b) || s.Entry >= s.MeasuredSize || s.BootloaderDataOffset < s.MeasuredSize ||
			len(b) > SKLMaxImage || s.UUID != SKLUUID || int(s.InfoOffset)+16 > int(s.MeasuredSize) {
			t.Fatalf("accepted an SKL that breaks GRUB's checks: %+v", s)
		}
		if m := s.Measured(); !bytes.Equal(m, b[:s.MeasuredSize]) {
			t.Fatalf("Measured() is not the measured prefix")
		}
		out, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs from the input: %v", err)
		}
	})
}

func FuzzFindMLEHeader(f *testing.F) {
	f.Add(slaunchtest.Kernel(0x020F, 0x14, 0x200))
	f.Add(slaunchtest.Kernel(0x020F, 0x10, 0))
	f.Add(slaunchtest.Kernel(0x020C, 0x14, 0x200)[:1200])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, bz, err := FindMLEHeader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if h.FileOffset != bz.SetupSize+int64(h.OffsetInPM) || h.FileOffset+MLEHeaderSize > int64(len(b)) {
			t.Fatalf("header at %#x outside the image or not at setup+offset", h.FileOffset)
		}
		raw, _ := h.MarshalBinary()
		if !bytes.Equal(raw, b[h.FileOffset:h.FileOffset+MLEHeaderSize]) {
			t.Fatalf("re-encoding differs from the image bytes")
		}
		if h.UUID != MLEUUID || h.EntryPoint < h.Start || h.EntryPoint >= h.End {
			t.Fatalf("accepted an invalid header %+v", h)
		}
	})
}

func FuzzParseSLRT(f *testing.F) {
	f.Add(amdTestSLRTGolden(f))
	x := IntelInfo{MTRRVCnt: 1}
	intel, _ := (&SLRT{Arch: ArchTXT, Entries: []SLREntry{x, RawEntry{TagValue: TagUEFIConfig, Data: []byte{1, 2, 3, 4}}}}).MarshalBinary()
	f.Add(intel)
	f.Add(EmulatedSKL()[:16])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSLRT(b)
		if err != nil {
			return
		}
		out, err := s.MarshalBinary()
		size := int(b[8]) | int(b[9])<<8 | int(b[10])<<16 | int(b[11])<<24
		if err != nil || !bytes.Equal(out, b[:size]) {
			t.Fatalf("re-encoding differs from the table: %v", err)
		}
		again, err := ParseSLRT(out)
		if err != nil || !reflect.DeepEqual(s, again) {
			t.Fatalf("re-parse differs: %v", err)
		}
		if _, err := s.MeasuredBytes(); err == nil && s.Arch != ArchTXT && s.Arch != ArchSKINIT {
			t.Fatalf("measured bytes for architecture %d", s.Arch)
		}
	})
}

func FuzzParseRecording(f *testing.F) {
	for _, n := range []string{"txt-ready", "skinit-ready", "not-capable"} {
		b, err := os.ReadFile(filepath.Join("testdata", "platforms", n+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecording(b)
		if err != nil {
			return
		}
		want := Probe(r)
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRecording(out)
		if err != nil {
			t.Fatalf("a saved recording does not parse: %v\n%s", err, out)
		}
		if got := Probe(again); !reflect.DeepEqual(got, want) {
			t.Fatalf("a saved recording probes differently")
		}
	})
}
