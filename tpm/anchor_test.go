package tpm_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// handStagePolicy computes the anchors' policy by hand from Part 3: a
// TPM2_PolicyPCR over sha256 PCR 8 at its reset value, then
// TPM2_PolicyCommandCode(cc). It shares nothing with the package.
func handStagePolicy(cc uint32) []byte {
	h := func(parts ...[]byte) []byte {
		s := sha256.New()
		for _, p := range parts {
			s.Write(p)
		}
		return s.Sum(nil)
	}
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	// TPML_PCR_SELECTION: count 1; TPM_ALG_SHA256, sizeofSelect 3, PCR 8 = bit 0 of byte 1.
	sel := []byte{0, 0, 0, 1, 0x00, 0x0b, 3, 0x00, 0x01, 0x00}
	d := h(make([]byte, 32), u32(0x17F), sel, h(make([]byte, 32)))
	return h(d, u32(0x16C), u32(cc))
}

// handAnchorName is the Name of a written anchor (Part 1 §16: nameAlg ‖
// H(TPMS_NV_PUBLIC)): attributes POLICYWRITE (bit 3), TPM_NT_COUNTER (1)
// in bits 7:4, AUTHREAD (18), NO_DA (25), WRITTEN (29).
func handAnchorName(index uint32) []byte {
	const ccNVIncrement = 0x134
	attrs := uint32(1<<3 | 1<<4 | 1<<18 | 1<<25 | 1<<29)
	pub := binary.BigEndian.AppendUint32(nil, index)
	pub = append(pub, 0x00, 0x0b)
	pub = binary.BigEndian.AppendUint32(pub, attrs)
	pub = append(pub, 0x00, 0x20)
	pub = append(pub, handStagePolicy(ccNVIncrement)...)
	pub = append(pub, 0x00, 0x08)
	s := sha256.Sum256(pub)
	return append([]byte{0x00, 0x0b}, s[:]...)
}

// TestStagePolicyDigest: the anchors' policy computed offline equals the
// TPM's own trial session and a hand computation, and the Names the TPM
// reports for defined anchors equal hand-computed ones.
func TestStagePolicyDigest(t *testing.T) {
	tt := tpmtest.Open(t)
	offline, err := tpm.StagePolicyDigest()
	if err != nil {
		t.Fatal(err)
	}
	trial, err := tpm.TrialStagePolicy(tt)
	if err != nil {
		t.Fatal(err)
	}
	if hand := handStagePolicy(uint32(tpm2.TPMCCNVIncrement)); !bytes.Equal(offline, trial) || !bytes.Equal(offline, hand) {
		t.Fatalf("offline %x, trial session %x, by hand %x", offline, trial, hand)
	}
	for _, idx := range []uint32{tpm.DefaultJournalAnchorIndex, tpm.DefaultPolicyAnchorIndex, tpm.DefaultCounterIndex} {
		a, err := tpm.DefineAnchor(tt, idx)
		if err != nil {
			t.Fatal(err)
		}
		rsp, err := tpm2.NVReadPublic{NVIndex: tpm2.TPMHandle(idx)}.Execute(tt)
		if err != nil {
			t.Fatal(err)
		}
		if want := handAnchorName(idx); !bytes.Equal(rsp.NVName.Buffer, want) || !a.Name.Equal(want) {
			t.Fatalf("%#x: TPM name %x, offline %x, by hand %x", idx, rsp.NVName.Buffer, a.Name, want)
		}
	}
}

func extendPCR(t *testing.T, tt tpm.TPMSender, pcr int, data string) {
	t.Helper()
	banks, _ := tpm.ActiveBanks(tt)
	if _, err := tpm.ExtendData(tt, pcr, banks, strings.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// TestAnchorOnlyPreLaunchStageRaises: anything that runs after PCR 8 was
// extended — the launched OS, whoever holds the owner authorization —
// cannot increment an anchor; after a reset (the next boot's pre-launch
// stage) it can again.
func TestAnchorOnlyPreLaunchStageRaises(t *testing.T) {
	tt := tpmtest.Open(t)
	c, err := tpm.DefineCounter(tt, tpm.DefaultCounterIndex)
	if err != nil {
		t.Fatal(err)
	}
	v0, _ := c.Read(tt)
	if err := c.Increment(tt); err != nil {
		t.Fatal(err)
	}
	extendPCR(t, tt, 8, "launch-policy")
	if err := c.Increment(tt); !errors.Is(err, tpm.ErrNotStage) {
		t.Fatalf("increment after the launch measured into PCR 8: %v", err)
	}
	if _, err := c.RaiseTo(tt, v0+10, 64); !errors.Is(err, tpm.ErrNotStage) {
		t.Fatalf("raise after the launch: %v", err)
	}
	// Plain authorization of any kind is refused: the index has no
	// AUTHWRITE/OWNERWRITE.
	for _, auth := range []tpm2.AuthHandle{
		{Handle: tpm2.TPMHandle(c.Index), Name: tpm2.TPM2BName{Buffer: c.Name}, Auth: tpm2.PasswordAuth(nil)},
		{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
	} {
		if _, err := (tpm2.NVIncrement{AuthHandle: auth, NVIndex: tpm2.NamedHandle{Handle: tpm2.TPMHandle(c.Index), Name: tpm2.TPM2BName{Buffer: c.Name}}}).Execute(tt); err == nil {
			t.Fatalf("NV_Increment with %#x authorization succeeded", auth.Handle)
		}
	}
	if v, _ := c.Read(tt); v != v0+1 {
		t.Fatalf("counter %d, want %d", v, v0+1)
	}
	if err := tt.Reboot(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.RaiseTo(tt, v0+4, 2); err != nil || v != v0+3 {
		t.Fatalf("the next boot's pre-launch stage raises by at most 2: %d %v", v, err)
	}
}

// TestAnchorNobodyLowers: the owner can undefine an anchor (only the
// platform hierarchy could have set TPMA_NV_POLICY_DELETE), and TPM2_Clear
// removes it, but an anchor defined again starts above every value it had
// (Part 1, "NV Counters"): nobody can bring an older value back.
func TestAnchorNobodyLowers(t *testing.T) {
	tt := tpmtest.Open(t)
	idx := tpm.DefaultJournalAnchorIndex
	old := uint64(0)
	for _, remove := range []string{"owner undefine", "TPM2_Clear"} {
		a, _, err := tpm.OpenOrDefineAnchor(tt, idx)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := a.Read(tt); v <= old {
			t.Fatalf("anchor defined again starts at %d, not above the old %d", v, old)
		}
		if old, err = a.RaiseTo(tt, old+5, 64); err != nil {
			t.Fatal(err)
		}
		switch remove {
		case "owner undefine":
			named := tpm2.NamedHandle{Handle: tpm2.TPMHandle(idx), Name: tpm2.TPM2BName{Buffer: a.Name}}
			if _, err := (tpm2.NVUndefineSpace{AuthHandle: tpm2.TPMRHOwner, NVIndex: named}).Execute(tt); err != nil {
				t.Fatal(err)
			}
		default:
			if _, err := (tpm2.Clear{AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHLockout, Auth: tpm2.PasswordAuth(nil)}}).Execute(tt); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tpm.OpenAnchor(tt, idx); !errors.Is(err, tpm.ErrNoAnchor) {
			t.Fatalf("after %s: %v", remove, err)
		}
	}
	a, defined, err := tpm.OpenOrDefineAnchor(tt, idx)
	if err != nil || !defined {
		t.Fatal(err)
	}
	if v, _ := a.Read(tt); v <= old {
		t.Fatalf("anchor defined after TPM2_Clear starts at %d, not above %d", v, old)
	}
}

// TestAnchorRefusesOtherIndex: an index at an anchor's handle that is not
// exactly slkit's anchor (an owner-writable ordinary index, a counter
// anyone may increment, a counter bound to another policy) is refused,
// and its Name differs from the anchor's.
func TestAnchorRefusesOtherIndex(t *testing.T) {
	idx := tpm.DefaultJournalAnchorIndex
	want, _ := tpm.AnchorAt(idx)
	for name, attrs := range map[string]tpm2.TPMANV{
		"ordinary owner-writable":   {NT: tpm2.TPMNTOrdinary, OwnerWrite: true, AuthRead: true, NoDA: true},
		"counter anyone increments": {NT: tpm2.TPMNTCounter, AuthWrite: true, AuthRead: true, NoDA: true},
		"counter of another policy": {NT: tpm2.TPMNTCounter, PolicyWrite: true, AuthRead: true, NoDA: true},
	} {
		t.Run(name, func(t *testing.T) {
			tt := tpmtest.Open(t)
			pub := tpm2.TPMSNVPublic{NVIndex: tpm2.TPMIRHNVIndex(idx), NameAlg: tpm2.TPMAlgSHA256, Attributes: attrs, DataSize: 8}
			if attrs.PolicyWrite {
				pub.AuthPolicy = tpm2.TPM2BDigest{Buffer: make([]byte, 32)}
			}
			if _, err := (tpm2.NVDefineSpace{AuthHandle: tpm2.TPMRHOwner, PublicInfo: tpm2.New2B(pub)}).Execute(tt); err != nil {
				t.Fatal(err)
			}
			if _, err := tpm.OpenAnchor(tt, idx); !errors.Is(err, tpm.ErrAnchor) || !strings.Contains(err.Error(), "not slkit's anchor") {
				t.Fatalf("accepted: %v", err)
			}
			if _, _, err := tpm.OpenOrDefineAnchor(tt, idx); !errors.Is(err, tpm.ErrAnchor) {
				t.Fatalf("open or define: %v", err)
			}
			pub.Attributes.Written = true
			if n, _ := tpm2.NVName(&pub); want.Name.Equal(n.Buffer) {
				t.Fatal("same name as the anchor")
			}
		})
	}
}

// TestAnchorOwnerAuth: with an owner password set, defining an anchor
// with the empty owner authorization fails with one clear line; with the
// password it works.
func TestAnchorOwnerAuth(t *testing.T) {
	tt := tpmtest.Open(t)
	pw := []byte("owner secret")
	if _, err := (tpm2.HierarchyChangeAuth{AuthHandle: tpm2.TPMRHOwner, NewAuth: tpm2.TPM2BAuth{Buffer: pw}}).Execute(tt); err != nil {
		t.Fatal(err)
	}
	_, err := tpm.DefineAnchor(tt, tpm.DefaultJournalAnchorIndex)
	if !errors.Is(err, tpm.ErrOwnerAuth) || !strings.Contains(err.Error(), "empty owner authorization") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("empty owner auth: %v", err)
	}
	if _, err := tpm.DefineAnchor(tt, tpm.DefaultJournalAnchorIndex, tpm.WithOwnerAuth(pw)); err != nil {
		t.Fatal(err)
	}
}

// TestAnchorDefinedOutsideTheStage: an anchor defined after PCR 8 was
// extended stays unwritten (it cannot be written there); the next
// pre-launch stage writes it.
func TestAnchorDefinedOutsideTheStage(t *testing.T) {
	tt := tpmtest.Open(t)
	extendPCR(t, tt, 8, "launch-policy")
	if _, err := tpm.DefineAnchor(tt, tpm.DefaultJournalAnchorIndex); !errors.Is(err, tpm.ErrNotStage) {
		t.Fatalf("define in the launched OS: %v", err)
	}
	if _, err := tpm.OpenAnchor(tt, tpm.DefaultJournalAnchorIndex); !errors.Is(err, tpm.ErrNoAnchor) || !strings.Contains(err.Error(), "never written") {
		t.Fatalf("open unwritten: %v", err)
	}
	if err := tt.Reboot(); err != nil {
		t.Fatal(err)
	}
	a, wrote, err := tpm.OpenOrDefineAnchor(tt, tpm.DefaultJournalAnchorIndex)
	if err != nil || !wrote {
		t.Fatalf("%v %v", wrote, err)
	}
	if v, err := a.Read(tt); err != nil || v < 1 {
		t.Fatalf("%d %v", v, err)
	}
}
