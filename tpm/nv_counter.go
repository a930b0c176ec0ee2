package tpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/google/go-tpm/tpm2"
)

// DefaultCounterIndex is the NV index of slkit's update-window counter, in
// the owner range 0x01800000–0x01BFFFFF of the TCG "Registry of Reserved
// TPM 2.0 Handles and Localities".
const DefaultCounterIndex uint32 = 0x0180534C

// ErrCounter wraps every problem with an update-window counter: missing,
// not a counter with slkit's attributes, or unreadable.
var ErrCounter = errkind.New(errkind.IO, "NV counter")

// ErrNoCounter is wrapped (with ErrCounter) when no NV index is defined at
// the counter's handle.
var ErrNoCounter = errkind.New(errkind.IO, "no NV index")

// Counter is a monotonic TPM NV counter (an NV index of type
// TPM_NT_COUNTER, Part 2 §13.4; Part 1, "NV Counters"): it can only be
// incremented, never written or decremented. When such an index is first
// incremented, the TPM sets it to at least the largest value any counter
// ever had on this TPM, so undefining and redefining it never brings a
// value back.
//
// slkit's counter has exactly the attributes of CounterPublic: anyone may
// read it and increment it (TPMA_NV_AUTHREAD, TPMA_NV_AUTHWRITE with an
// empty authValue, TPMA_NV_NO_DA) — an increment can only move a window
// along (open a prepared one early, close an open one), never bring one
// back — and only the owner can undefine it. Its Name is computed
// offline from that public area, so a policy that names it (PolicyNV,
// Part 3 §23.9) is satisfied by no other kind of index at the same handle.
type Counter struct {
	Index uint32
	// Name is the Name of the written index (Part 1 §16).
	Name Digest
}

// CounterPublic is the public area of slkit's counter at index once it has
// been written (TPMA_NV_WRITTEN set, as after DefineCounter).
func CounterPublic(index uint32) tpm2.TPMSNVPublic {
	return tpm2.TPMSNVPublic{
		NVIndex: tpm2.TPMIRHNVIndex(index),
		NameAlg: tpm2.TPMAlgSHA256,
		Attributes: tpm2.TPMANV{
			NT:        tpm2.TPMNTCounter,
			AuthWrite: true,
			AuthRead:  true,
			NoDA:      true,
			Written:   true,
		},
		DataSize: 8,
	}
}

// CounterAt returns the counter at index with its Name computed offline
// (no TPM involved).
func CounterAt(index uint32) (*Counter, error) {
	if index>>24 != 0x01 {
		return nil, fmt.Errorf("%w: %#08x is not an NV index handle (0x01xxxxxx)", ErrCounter, index)
	}
	pub := CounterPublic(index)
	n, err := tpm2.NVName(&pub)
	if err != nil {
		return nil, fmt.Errorf("%w: name of %#08x: %w", ErrCounter, index, err)
	}
	return &Counter{Index: index, Name: n.Buffer}, nil
}

func (c *Counter) handle() tpm2.NamedHandle {
	return tpm2.NamedHandle{Handle: tpm2.TPMHandle(c.Index), Name: tpm2.TPM2BName{Buffer: c.Name}}
}

// auth authorizes a read or increment with the index's own (empty)
// authValue. A password session carries no secret here: the authValue is
// empty by design.
func (c *Counter) auth() tpm2.AuthHandle {
	return tpm2.AuthHandle{Handle: tpm2.TPMHandle(c.Index), Name: tpm2.TPM2BName{Buffer: c.Name}, Auth: tpm2.PasswordAuth(nil)}
}

// DefineCounter defines slkit's counter at index (TPM2_NV_DefineSpace,
// Part 3 §31.3, with owner authorization, assumed empty) and increments it
// once (§31.8), so that it is written and usable in a policy. The first
// increment sets it to the largest value any counter has had on this TPM,
// plus one. An index that already exists is not touched: OpenCounter
// tells whether it is slkit's counter.
func DefineCounter(t TPMSender, index uint32) (*Counter, error) {
	c, err := CounterAt(index)
	if err != nil {
		return nil, err
	}
	pub := CounterPublic(index)
	pub.Attributes.Written = false
	_, err = tpm2.NVDefineSpace{
		AuthHandle: tpm2.TPMRHOwner,
		PublicInfo: tpm2.New2B(pub),
	}.Execute(t)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCNVDefined) {
			return nil, fmt.Errorf("%w: %#08x is already defined", ErrCounter, index)
		}
		return nil, fmt.Errorf("%w: NV_DefineSpace(%#08x): %w", ErrTPM, index, err)
	}
	if _, err := (tpm2.NVIncrement{AuthHandle: c.auth(), NVIndex: c.handle()}).Execute(t); err != nil {
		return nil, fmt.Errorf("%w: NV_Increment(%#08x): %w", ErrTPM, index, err)
	}
	return OpenCounter(t, index)
}

// OpenCounter checks that the index at index is slkit's counter: its
// public area (TPM2_NV_ReadPublic, Part 3 §31.6) must be exactly
// CounterPublic, written, and the Name the TPM reports must be the one
// computed offline. A missing index wraps ErrCounter and says so.
func OpenCounter(t TPMSender, index uint32) (*Counter, error) {
	c, err := CounterAt(index)
	if err != nil {
		return nil, err
	}
	rsp, err := tpm2.NVReadPublic{NVIndex: tpm2.TPMHandle(index)}.Execute(t)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCHandle) {
			return nil, fmt.Errorf("%w: %w at %#08x (`slkit update prepare` defines it)", ErrCounter, ErrNoCounter, index)
		}
		return nil, fmt.Errorf("%w: NV_ReadPublic(%#08x): %w", ErrTPM, index, err)
	}
	pub, err := rsp.NVPublic.Contents()
	if err != nil {
		return nil, fmt.Errorf("%w: NV_ReadPublic(%#08x): %w", ErrTPM, index, err)
	}
	want := CounterPublic(index)
	if !bytes.Equal(tpm2.Marshal(pub), tpm2.Marshal(&want)) {
		return nil, fmt.Errorf("%w: the index at %#08x is not slkit's counter (attributes %#08x, size %d; want a written counter with attributes %#08x)",
			ErrCounter, index, nvAttrBits(pub.Attributes), pub.DataSize, nvAttrBits(want.Attributes))
	}
	if !c.Name.Equal(rsp.NVName.Buffer) {
		return nil, fmt.Errorf("%w: the TPM reports name %s for %#08x, computed %s", ErrCounter, Digest(rsp.NVName.Buffer).Short(), index, c.Name.Short())
	}
	return c, nil
}

func nvAttrBits(a tpm2.TPMANV) uint32 {
	b := tpm2.Marshal(a)
	return binary.BigEndian.Uint32(b)
}

// Read returns the counter's value (TPM2_NV_Read, Part 3 §31.13).
func (c *Counter) Read(t TPMSender) (uint64, error) {
	rsp, err := tpm2.NVRead{AuthHandle: c.auth(), NVIndex: c.handle(), Size: 8}.Execute(t)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCHandle) {
			return 0, fmt.Errorf("%w: %w at %#08x", ErrCounter, ErrNoCounter, c.Index)
		}
		return 0, fmt.Errorf("%w: NV_Read(%#08x): %w", ErrTPM, c.Index, err)
	}
	if len(rsp.Data.Buffer) != 8 {
		return 0, fmt.Errorf("%w: NV_Read(%#08x) returned %d bytes", ErrCounter, c.Index, len(rsp.Data.Buffer))
	}
	return binary.BigEndian.Uint64(rsp.Data.Buffer), nil
}

// Increment adds one to the counter (TPM2_NV_Increment, Part 3 §31.8).
func (c *Counter) Increment(t TPMSender) error {
	if _, err := (tpm2.NVIncrement{AuthHandle: c.auth(), NVIndex: c.handle()}).Execute(t); err != nil {
		if errors.Is(err, tpm2.TPMRCHandle) {
			return fmt.Errorf("%w: %w at %#08x", ErrCounter, ErrNoCounter, c.Index)
		}
		return fmt.Errorf("%w: NV_Increment(%#08x): %w", ErrTPM, c.Index, err)
	}
	return nil
}

// UndefineCounter removes the index (TPM2_NV_UndefineSpace, Part 3 §31.4,
// owner authorization assumed empty). A later DefineCounter starts above
// every value the counter had.
func UndefineCounter(t TPMSender, index uint32) error {
	c, err := CounterAt(index)
	if err != nil {
		return err
	}
	if _, err := (tpm2.NVUndefineSpace{AuthHandle: tpm2.TPMRHOwner, NVIndex: c.handle()}).Execute(t); err != nil {
		return fmt.Errorf("%w: NV_UndefineSpace(%#08x): %w", ErrTPM, index, err)
	}
	return nil
}
