package tpm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// defineCounter defines slkit's counter at index (each test has a fresh
// TPM; an anchor cannot be undefined).
func defineCounter(t *testing.T, tt tpm.TPMSender, index uint32) *tpm.Counter {
	t.Helper()
	c, err := tpm.DefineCounter(tt, index)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCounterLifecycle defines the counter, checks the Name the TPM
// reports against the offline one, increments it, and checks that it
// cannot be defined twice (TestAnchorNobodyLowers covers TPM2_Clear).
func TestCounterLifecycle(t *testing.T) {
	tt := tpmtest.Open(t)
	idx := tpm.DefaultCounterIndex
	if _, err := tpm.OpenCounter(tt, idx); !errors.Is(err, tpm.ErrCounter) || !strings.Contains(err.Error(), "no NV index") {
		t.Fatalf("open before define: %v", err)
	}
	c := defineCounter(t, tt, idx)
	offline, _ := tpm.CounterAt(idx)
	rsp, err := tpm2.NVReadPublic{NVIndex: tpm2.TPMHandle(idx)}.Execute(tt)
	if err != nil {
		t.Fatal(err)
	}
	if !offline.Name.Equal(rsp.NVName.Buffer) || !c.Name.Equal(offline.Name) {
		t.Fatalf("TPM name %x, offline %s", rsp.NVName.Buffer, offline.Name)
	}
	v0, err := c.Read(tt)
	if err != nil || v0 < 1 {
		t.Fatalf("first value %d, %v", v0, err)
	}
	for i := 0; i < 3; i++ {
		if err := c.Increment(tt); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := c.Read(tt); v != v0+3 {
		t.Fatalf("after 3 increments %d, want %d", v, v0+3)
	}
	if _, err := tpm.DefineCounter(tt, idx); !errors.Is(err, tpm.ErrCounter) || !strings.Contains(err.Error(), "already defined") {
		t.Fatalf("define twice: %v", err)
	}
}

// TestCounterRefusesOtherIndex puts an ordinary, owner-writable index at
// the counter's handle: OpenCounter refuses it (an attacker could write
// any value to it), and its Name differs from the counter's, so no window
// policy can be satisfied by it.
func TestCounterRefusesOtherIndex(t *testing.T) {
	tt := tpmtest.Open(t)
	idx := tpm.DefaultCounterIndex
	pub := tpm2.TPMSNVPublic{NVIndex: tpm2.TPMIRHNVIndex(idx), NameAlg: tpm2.TPMAlgSHA256,
		Attributes: tpm2.TPMANV{NT: tpm2.TPMNTOrdinary, OwnerWrite: true, AuthRead: true, NoDA: true}, DataSize: 8}
	if _, err := (tpm2.NVDefineSpace{AuthHandle: tpm2.TPMRHOwner, PublicInfo: tpm2.New2B(pub)}).Execute(tt); err != nil {
		t.Fatal(err)
	}
	_, err := tpm.OpenCounter(tt, idx)
	if !errors.Is(err, tpm.ErrCounter) || !strings.Contains(err.Error(), "not slkit's anchor") {
		t.Fatalf("ordinary index accepted as counter: %v", err)
	}
	pub.Attributes.Written = true
	n, _ := tpm2.NVName(&pub)
	if c, _ := tpm.CounterAt(idx); c.Name.Equal(n.Buffer) {
		t.Fatal("an ordinary index has the counter's name")
	}
}

func TestCounterAtRejectsNonNVHandle(t *testing.T) {
	for _, h := range []uint32{0x81000001, 0x02000000, 0} {
		if _, err := tpm.CounterAt(h); !errors.Is(err, tpm.ErrCounter) {
			t.Errorf("%#x: %v", h, err)
		}
	}
}
