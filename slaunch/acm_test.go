package slaunch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

// readyIDs are the platform facts of testdata/platforms/txt-ready.json.
var readyIDs = PlatformIDs{FMS: 0x906ea, PlatformID: 0x0004000000000000, DIDVID: 0x13e108086, Ver: 0x80000000}

func TestParseACM(t *testing.T) {
	img := slaunchtest.ACM(slaunchtest.DefaultACM())
	a, err := ParseACM(img)
	if err != nil {
		t.Fatal(err)
	}
	if !a.IsSINIT() || a.DebugSigned() || a.HeaderLen != 161 || a.ScratchSize != 143 || a.InfoOffset != 1216 ||
		a.Size != 512 || a.Date != 0x20210315 || a.EntryPoint != 0xa00 || a.Info.OsSinitDataVer != 7 ||
		a.Info.Capabilities != 0x207 || len(a.Chipsets) != 2 || len(a.Processors) != 1 {
		t.Fatalf("parsed %+v", a)
	}
	if a.Chipsets[1] != (ChipsetID{Flags: 1, VendorID: 0x8086, DeviceID: 0x3e0f, RevisionID: 3}) {
		t.Errorf("chipset 1 = %+v", a.Chipsets[1])
	}
	if a.Processors[0] != (ProcessorID{FMS: 0x906e0, FMSMask: 0xfff3ff0, PlatformID: 0x4000000000000, PlatformMask: 0x1c000000000000}) {
		t.Errorf("processor 0 = %+v", a.Processors[0])
	}
	if a.TPM == nil || !a.TPM.SupportsTPM2() || len(a.TPM.Algs) != 2 || a.TPM.Algs[1] != tpm.SHA256 {
		t.Errorf("TPM info %+v", a.TPM)
	}
	out, err := a.MarshalBinary()
	if err != nil || !bytes.Equal(out, img) {
		t.Fatalf("MarshalBinary does not give the parsed bytes back: %v", err)
	}
}

func TestParseACMRejects(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"short", func(b []byte) []byte { return b[:100] }, "shorter than the 128-byte ACM header"},
		{"size", func(b []byte) []byte { return b[:2044] }, "Size is 512 dwords (2048 bytes) but the file has 2044 bytes"},
		{"type", func(b []byte) []byte { le.PutUint16(b[0:], 1); return b }, "ModuleType 1, want 2"},
		{"vendor", func(b []byte) []byte { le.PutUint32(b[16:], 0x1022); return b }, "ModuleVendor 0x1022"},
		{"info outside", func(b []byte) []byte { le.PutUint32(b[124:], 400); return b }, "info table at (HeaderLen+ScratchSize)*4"},
		{"uuid", func(b []byte) []byte { b[slaunchtest.ACMInfoOff] ^= 1; return b }, "is not the ACM UUID"},
		{"chipset count", func(b []byte) []byte { le.PutUint32(b[slaunchtest.ACMChipsetOff:], 0x10000000); return b }, "chipset ID list"},
		{"chipset list offset", func(b []byte) []byte { le.PutUint32(b[slaunchtest.ACMInfoOff+20:], 0xfffffffe); return b }, "ChipsetIDList count"},
		{"processor count", func(b []byte) []byte { le.PutUint32(b[slaunchtest.ACMProcOff:], 100); return b }, "processor ID list"},
		{"tpm count", func(b []byte) []byte { le.PutUint16(b[slaunchtest.ACMTPMOff+4:], 1000); return b }, "TPM algorithm list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseACM(tc.mutate(slaunchtest.ACM(slaunchtest.DefaultACM())))
			var fe *FormatError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrMalformed containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "SINIT ACM: at byte offset") {
				t.Errorf("error does not locate the problem: %v", err)
			}
		})
	}
}

func TestACMMatchPlatform(t *testing.T) {
	parse := func(ta slaunchtest.ACMSpec) *ACM {
		a, err := ParseACM(slaunchtest.ACM(ta))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// The recorded TXT-ready machine matches the default ACM.
	ids, err := ReadPlatformIDs(loadPlatform(t, "txt-ready"))
	if err != nil || ids != readyIDs {
		t.Fatalf("ReadPlatformIDs = %+v, %v; want %+v", ids, err, readyIDs)
	}
	for _, tc := range []struct {
		name string
		acm  func(*slaunchtest.ACMSpec)
		ids  func(*PlatformIDs)
		want string // "" = match
	}{
		{"exact revision", nil, nil, ""},
		{"revision mask hit", nil, func(p *PlatformIDs) { p.DIDVID = 0x23e0f8086 }, ""},
		{"revision mask miss", nil, func(p *PlatformIDs) { p.DIDVID = 0x43e0f8086 },
			"chipset 8086:3e0f rev 0x4 (TXT.DIDVID) is not in the ACM's chipset list [8086:3e10 rev 0x1, 8086:3e0f rev mask 0x3]"},
		{"exact revision miss", nil, func(p *PlatformIDs) { p.DIDVID = 0x23e108086 }, "chipset 8086:3e10 rev 0x2"},
		{"other device", nil, func(p *PlatformIDs) { p.DIDVID = 0x13e918086 }, "chipset 8086:3e91 rev 0x1"},
		{"debug ACM on production chipset", func(a *slaunchtest.ACMSpec) { a.Flags = ACMFlagDebugSigned }, nil,
			"the ACM is debug-signed but the chipset is production-fused"},
		{"debug ACM on debug chipset", func(a *slaunchtest.ACMSpec) { a.Flags = ACMFlagDebugSigned }, func(p *PlatformIDs) { p.Ver = 0 }, ""},
		{"processor FMS miss", nil, func(p *PlatformIDs) { p.FMS = 0x806ec }, "processor (CPUID.1:EAX 0x806ec, IA32_PLATFORM_ID 0x4000000000000) is not in the ACM's 1-entry processor list"},
		{"processor stepping masked", nil, func(p *PlatformIDs) { p.FMS = 0x906ed }, ""},
		{"platform ID miss", nil, func(p *PlatformIDs) { p.PlatformID = 0x0008000000000000 }, "is not in the ACM's 1-entry processor list"},
		{"info version 3 skips processors", func(a *slaunchtest.ACMSpec) { a.InfoVer = 3 }, func(p *PlatformIDs) { p.FMS = 0x806ec }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := slaunchtest.DefaultACM()
			if tc.acm != nil {
				tc.acm(&ta)
			}
			p := readyIDs
			if tc.ids != nil {
				tc.ids(&p)
			}
			err := parse(ta).MatchPlatform(p)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrPlatformMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrPlatformMismatch containing %q", err, tc.want)
			}
		})
	}
}

func TestACMMatchMLE(t *testing.T) {
	linux := &MLEHeader{Version: 0x00020002, Capabilities: 0x227} // TrenchBoot Linux MLE header
	for _, tc := range []struct {
		name     string
		acm      func(*slaunchtest.ACMSpec)
		mle      *MLEHeader
		tpm2     bool
		wantCaps uint32
		want     string
	}{
		{"linux tpm2", nil, linux, true, CapGETSECWake | CapECXPageTab | CapTPM2Log, ""},
		{"monitor only", func(a *slaunchtest.ACMSpec) { a.Caps = CapMONITORWake | CapTPM2Log }, linux, true, CapMONITORWake | CapTPM2Log, ""},
		{"no common wakeup", func(a *slaunchtest.ACMSpec) { a.Caps = CapMONITORWake | CapTPM2Log }, &MLEHeader{Version: 0x20002, Capabilities: CapGETSECWake | CapTPM2Log}, true, 0,
			"no common RLP wakeup mechanism (ACM capabilities 0x202, MLE 0x201)"},
		{"no tpm2 log in ACM", func(a *slaunchtest.ACMSpec) { a.Caps = CapGETSECWake }, linux, true, 0, "the ACM does not support the TCG TPM 2.0 event log"},
		{"no tpm2 log needed for tpm1.2", func(a *slaunchtest.ACMSpec) { a.Caps = CapGETSECWake }, linux, false, CapGETSECWake, ""},
		{"old OsSinitData", func(a *slaunchtest.ACMSpec) { a.OsSinitVer = 6 }, linux, true, 0, "OsSinitData version 6, a TPM 2.0 launch needs 7"},
		{"ACM TPM 1.2 only", func(a *slaunchtest.ACMSpec) { a.TPMCaps = 1 << 2 }, linux, true, 0, "TPM info list has no TPM 2.0 family"},
		{"old MLE header", func(a *slaunchtest.ACMSpec) { a.MinMLE = 0x00020003 }, linux, true, 0, "MLE header version 0x20002 is older than the ACM's minimum 0x20003"},
		{"MLE without tpm2 log", nil, &MLEHeader{Version: 0x20002, Capabilities: CapGETSECWake}, true, 0, "the MLE does not support the TCG TPM 2.0 event log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := slaunchtest.DefaultACM()
			if tc.acm != nil {
				tc.acm(&ta)
			}
			a, err := ParseACM(slaunchtest.ACM(ta))
			if err != nil {
				t.Fatal(err)
			}
			caps, err := a.MatchMLE(tc.mle, tc.tpm2)
			if tc.want != "" {
				if !errors.Is(err, ErrPlatformMismatch) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil || caps != tc.wantCaps {
				t.Fatalf("caps %#x, %v; want %#x", caps, err, tc.wantCaps)
			}
		})
	}
}

func TestSelectSINIT(t *testing.T) {
	old, _ := ParseACM(slaunchtest.ACM(slaunchtest.ACMSpec{InfoVer: 5, Date: 0x20200101}))
	newer, _ := ParseACM(slaunchtest.ACM(slaunchtest.ACMSpec{InfoVer: 5, Date: 0x20230101}))
	if old == nil || newer == nil {
		t.Fatal("test ACMs do not parse")
	}
	for _, tc := range []struct {
		fw, prov, want *ACM
	}{
		{old, newer, newer}, {newer, old, newer}, {old, old, old}, {nil, old, old}, {old, nil, old}, {nil, nil, nil},
	} {
		if got := SelectSINIT(tc.fw, tc.prov); got != tc.want {
			t.Errorf("SelectSINIT(%v, %v) picked the wrong one", tc.fw != nil, tc.prov != nil)
		}
	}
	if !old.Equal(old) || old.Equal(newer) {
		t.Errorf("Equal")
	}
}

// TestACMInfoTableLength: fields past the info table's Length are absent
// (GRUB acmod.c info_table_get), whatever the Version says.
func TestACMInfoTableLength(t *testing.T) {
	for _, tc := range []struct {
		length         uint16
		procs, tpmInfo bool
		capsUsed       bool
	}{
		{48, true, true, true}, {44, true, false, true}, {40, false, false, true}, {32, false, false, false},
	} {
		img := slaunchtest.ACM(slaunchtest.DefaultACM())
		binary.LittleEndian.PutUint16(img[slaunchtest.ACMInfoOff+18:], tc.length)
		a, err := ParseACM(img)
		if err != nil {
			t.Fatal(err)
		}
		if (a.Processors != nil) != tc.procs || (a.TPM != nil) != tc.tpmInfo {
			t.Errorf("Length %d: processors %v TPM %v", tc.length, a.Processors != nil, a.TPM != nil)
		}
		_, err = a.MatchMLE(&MLEHeader{Version: 0x20002, Capabilities: 0x227}, true)
		if (err == nil) != tc.capsUsed {
			t.Errorf("Length %d: MatchMLE %v", tc.length, err)
		}
		if out, _ := a.MarshalBinary(); !bytes.Equal(out, img) {
			t.Errorf("Length %d: round trip differs", tc.length)
		}
	}
}
