package tpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/internal/errkind"
)

// slkit's anchors, in the owner range 0x01800000–0x01BFFFFF of the TCG
// "Registry of Reserved TPM 2.0 Handles and Localities" (the update-window
// counter, DefaultCounterIndex, is the third).
const (
	// DefaultPolicyAnchorIndex holds the launch policy's minimum version.
	DefaultPolicyAnchorIndex uint32 = 0x0180534D
	// DefaultJournalAnchorIndex holds the EFI journal's applied generation.
	DefaultJournalAnchorIndex uint32 = 0x0180534E
)

// Errors of the anchors.
var (
	// ErrAnchor wraps every problem with an anchor: not slkit's index,
	// unreadable, a value it cannot take.
	ErrAnchor = errkind.New(errkind.IO, "NV anchor")
	// ErrNoAnchor is wrapped (with ErrAnchor) when no NV index is defined
	// at the anchor's handle.
	ErrNoAnchor = errkind.New(errkind.IO, "no NV index")
	// ErrNotStage: the anchor's policy does not hold: this is not the
	// pre-launch stage (PCR 8 is no longer at its reset value: something
	// was launched or measured in this boot).
	ErrNotStage = errkind.New(errkind.Verify, "not the pre-launch stage")
	// ErrOwnerAuth: the TPM refused the owner authorization slkit gave to
	// define an anchor.
	ErrOwnerAuth = errkind.New(errkind.Input, "owner authorization refused")
)

// Anchor is an NV counter (TPM_NT_COUNTER, Part 2 §13.4) that only the
// pre-launch stage can raise and nobody can lower:
//
//   - a counter only grows, by one per TPM2_NV_Increment, and one that is
//     undefined (by the owner, or by TPM2_Clear) and defined again starts
//     above every value any counter had on the TPM (Part 1, "NV
//     Counters"; the reference implementation keeps that maximum across
//     TPM2_Clear: NvDeleteIndex updates it, NV_Increment starts an
//     unwritten counter from it);
//   - it is incremented only in a policy session (TPMA_NV_POLICYWRITE; no
//     AUTHWRITE, OWNERWRITE or PPWRITE) satisfying StagePolicy: PCR 8 at
//     its reset value, which slkit's launch extends before anything it
//     launches runs;
//   - anyone reads it with its empty authValue (TPMA_NV_AUTHREAD,
//     TPMA_NV_NO_DA): the value is no secret.
//
// TPMA_NV_POLICY_DELETE, which would keep the owner from undefining it,
// can only be set by the platform hierarchy (Part 3 §31.3), which the
// firmware closes before any OS runs: the owner can undefine an anchor,
// and whoever then defines the index again chooses its policy. Its value
// still never goes below what it was, and OpenAnchor refuses an index
// that is not exactly slkit's anchor (its Name is computed offline from
// this public area, AnchorAt, so a PolicyNV naming it is satisfied by no
// other index either).
type Anchor struct {
	Index uint32
	// Name is the Name of the written index (Part 1 §16).
	Name Digest
}

// AnchorPublic is the public area of slkit's anchor at index once it has
// been written (TPMA_NV_WRITTEN set).
func AnchorPublic(index uint32) tpm2.TPMSNVPublic {
	pol, _ := StagePolicyDigest()
	return tpm2.TPMSNVPublic{
		NVIndex: tpm2.TPMIRHNVIndex(index),
		NameAlg: tpm2.TPMAlgSHA256,
		Attributes: tpm2.TPMANV{
			NT:          tpm2.TPMNTCounter,
			PolicyWrite: true,
			AuthRead:    true,
			NoDA:        true,
			Written:     true,
		},
		AuthPolicy: tpm2.TPM2BDigest{Buffer: pol},
		DataSize:   8,
	}
}

// AnchorAt returns the anchor at index with its Name computed offline (no
// TPM involved).
func AnchorAt(index uint32) (*Anchor, error) {
	if index>>24 != 0x01 {
		return nil, fmt.Errorf("%w: %#08x is not an NV index handle (0x01xxxxxx)", ErrAnchor, index)
	}
	pub := AnchorPublic(index)
	n, err := tpm2.NVName(&pub)
	if err != nil {
		return nil, fmt.Errorf("%w: name of %#08x: %w", ErrAnchor, index, err)
	}
	return &Anchor{Index: index, Name: n.Buffer}, nil
}

func (a *Anchor) handle() tpm2.NamedHandle {
	return tpm2.NamedHandle{Handle: tpm2.TPMHandle(a.Index), Name: tpm2.TPM2BName{Buffer: a.Name}}
}

// auth authorizes a read with the index's own authValue, empty by design:
// a password session carries no secret here.
func (a *Anchor) auth() tpm2.AuthHandle {
	return tpm2.AuthHandle{Handle: tpm2.TPMHandle(a.Index), Name: tpm2.TPM2BName{Buffer: a.Name}, Auth: tpm2.PasswordAuth(nil)}
}

// NVOption configures the definition of an anchor.
type NVOption func(*nvConfig)

type nvConfig struct{ ownerAuth []byte }

// WithOwnerAuth gives the owner authorization (ownerAuth) that
// TPM2_NV_DefineSpace needs; without it slkit sends the empty one, which
// a TPM that has an owner password refuses (ErrOwnerAuth).
func WithOwnerAuth(auth []byte) NVOption { return func(c *nvConfig) { c.ownerAuth = auth } }

// DefineAnchor defines slkit's anchor at index (TPM2_NV_DefineSpace, Part
// 3 §31.3, with owner authorization) and increments it once in a session
// satisfying StagePolicy, so that it is written and usable: it can only be
// completed in the pre-launch stage (ErrNotStage elsewhere; the index then
// stays defined but unwritten, and the next pre-launch stage writes it
// through OpenOrDefineAnchor). The first increment sets it to the largest
// value any counter has had on this TPM, plus one.
func DefineAnchor(t TPMSender, index uint32, opts ...NVOption) (*Anchor, error) {
	cfg := nvConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := AnchorAt(index)
	if err != nil {
		return nil, err
	}
	pub := AnchorPublic(index)
	pub.Attributes.Written = false
	_, err = tpm2.NVDefineSpace{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(cfg.ownerAuth)},
		PublicInfo: tpm2.New2B(pub),
	}.Execute(t)
	switch {
	case errors.Is(err, tpm2.TPMRCNVDefined):
		return nil, fmt.Errorf("%w: %#08x is already defined", ErrAnchor, index)
	case errors.Is(err, tpm2.TPMRCBadAuth) || errors.Is(err, tpm2.TPMRCAuthFail):
		return nil, fmt.Errorf("%w: TPM2_NV_DefineSpace(%#08x) with the %s owner authorization: %w (define the anchor once with the owner password)",
			ErrOwnerAuth, index, ownerAuthWord(cfg.ownerAuth), err)
	case err != nil:
		return nil, fmt.Errorf("%w: NV_DefineSpace(%#08x): %w", ErrTPM, index, err)
	}
	if err := a.firstIncrement(t); err != nil {
		return nil, err
	}
	return OpenAnchor(t, index)
}

// firstIncrement increments the anchor while it is unwritten: its Name
// then lacks TPMA_NV_WRITTEN, and the policy session's HMAC covers it.
func (a *Anchor) firstIncrement(t TPMSender) error {
	pub := AnchorPublic(a.Index)
	pub.Attributes.Written = false
	n, err := tpm2.NVName(&pub)
	if err != nil {
		return err
	}
	first := *a
	first.Name = n.Buffer
	return first.Increment(t)
}

func ownerAuthWord(auth []byte) string {
	if len(auth) == 0 {
		return "empty"
	}
	return "given"
}

// OpenAnchor checks that the index at index is slkit's anchor: its public
// area (TPM2_NV_ReadPublic, Part 3 §31.6) must be exactly AnchorPublic,
// written, and the Name the TPM reports must be the one computed offline.
// A missing index wraps ErrNoAnchor.
func OpenAnchor(t TPMSender, index uint32) (*Anchor, error) {
	a, pub, err := readAnchorPublic(t, index)
	if err != nil {
		return nil, err
	}
	if !pub.Attributes.Written {
		return nil, fmt.Errorf("%w: %w at %#08x: defined but never written (the pre-launch stage writes it)", ErrAnchor, ErrNoAnchor, index)
	}
	return a, nil
}

// OpenOrDefineAnchor opens slkit's anchor at index, defining it when
// missing and writing it when it was defined but never written (both only
// in the pre-launch stage). It reports whether it defined or wrote it:
// then its value has no history (it is only above every value any counter
// had).
func OpenOrDefineAnchor(t TPMSender, index uint32, opts ...NVOption) (*Anchor, bool, error) {
	a, pub, err := readAnchorPublic(t, index)
	switch {
	case errors.Is(err, ErrNoAnchor):
		a, err = DefineAnchor(t, index, opts...)
		return a, err == nil, err
	case err != nil:
		return nil, false, err
	case !pub.Attributes.Written:
		if err := a.firstIncrement(t); err != nil {
			return nil, false, err
		}
		a, err = OpenAnchor(t, index)
		return a, err == nil, err
	}
	return a, false, nil
}

// readAnchorPublic reads the public area at index and checks it against
// slkit's anchor, written or not.
func readAnchorPublic(t TPMSender, index uint32) (*Anchor, *tpm2.TPMSNVPublic, error) {
	a, err := AnchorAt(index)
	if err != nil {
		return nil, nil, err
	}
	rsp, err := tpm2.NVReadPublic{NVIndex: tpm2.TPMHandle(index)}.Execute(t)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCHandle) {
			return nil, nil, fmt.Errorf("%w: %w at %#08x (the pre-launch stage defines it)", ErrAnchor, ErrNoAnchor, index)
		}
		return nil, nil, fmt.Errorf("%w: NV_ReadPublic(%#08x): %w", ErrTPM, index, err)
	}
	pub, err := rsp.NVPublic.Contents()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: NV_ReadPublic(%#08x): %w", ErrTPM, index, err)
	}
	want := AnchorPublic(index)
	want.Attributes.Written = pub.Attributes.Written
	if !bytes.Equal(tpm2.Marshal(pub), tpm2.Marshal(&want)) {
		return nil, nil, fmt.Errorf("%w: the index at %#08x is not slkit's anchor (attributes %#08x, size %d; want a counter with attributes %#08x and the pre-launch stage's policy)",
			ErrAnchor, index, nvAttrBits(pub.Attributes), pub.DataSize, nvAttrBits(want.Attributes))
	}
	if pub.Attributes.Written && !a.Name.Equal(rsp.NVName.Buffer) {
		return nil, nil, fmt.Errorf("%w: the TPM reports name %s for %#08x, computed %s", ErrAnchor, Digest(rsp.NVName.Buffer).Short(), index, a.Name.Short())
	}
	return a, pub, nil
}

func nvAttrBits(a tpm2.TPMANV) uint32 {
	return binary.BigEndian.Uint32(tpm2.Marshal(a))
}

// Read returns the anchor's value (TPM2_NV_Read, Part 3 §31.13).
func (a *Anchor) Read(t TPMSender) (uint64, error) {
	rsp, err := tpm2.NVRead{AuthHandle: a.auth(), NVIndex: a.handle(), Size: 8}.Execute(t)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCHandle) {
			return 0, fmt.Errorf("%w: %w at %#08x", ErrAnchor, ErrNoAnchor, a.Index)
		}
		return 0, fmt.Errorf("%w: NV_Read(%#08x): %w", ErrTPM, a.Index, err)
	}
	if len(rsp.Data.Buffer) != 8 {
		return 0, fmt.Errorf("%w: NV_Read(%#08x) returned %d bytes", ErrAnchor, a.Index, len(rsp.Data.Buffer))
	}
	return binary.BigEndian.Uint64(rsp.Data.Buffer), nil
}

// Increment adds one to the anchor (TPM2_NV_Increment, Part 3 §31.8) in a
// session satisfying StagePolicy; outside the pre-launch stage it fails
// with ErrNotStage.
func (a *Anchor) Increment(t TPMSender) error {
	sess, closer, err := tpm2.PolicySession(t, policyHash, 16)
	if err != nil {
		return fmt.Errorf("%w: policy session: %w", ErrTPM, err)
	}
	defer closer()
	if err := runStagePolicy(t, tpm2.TPMHandle(sess.Handle())); err != nil {
		return fmt.Errorf("%w: anchor %#08x: %w", ErrNotStage, a.Index, err)
	}
	_, err = tpm2.NVIncrement{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(a.Index), Name: tpm2.TPM2BName{Buffer: a.Name}, Auth: sess},
		NVIndex:    a.handle(),
	}.Execute(t)
	switch {
	case errors.Is(err, tpm2.TPMRCHandle):
		return fmt.Errorf("%w: %w at %#08x", ErrAnchor, ErrNoAnchor, a.Index)
	case err != nil:
		return fmt.Errorf("%w: NV_Increment(%#08x): %w", ErrTPM, a.Index, err)
	}
	return nil
}

// RaiseTo increments the anchor until it is at least v, at most max
// increments (each one is a TPM NV write); it returns the value reached.
func (a *Anchor) RaiseTo(t TPMSender, v uint64, max int) (uint64, error) {
	cur, err := a.Read(t)
	if err != nil {
		return 0, err
	}
	for n := 0; cur < v && n < max; n++ {
		if err := a.Increment(t); err != nil {
			return cur, err
		}
		cur++
	}
	return cur, nil
}
