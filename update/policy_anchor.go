package update

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// MaxPolicyStep bounds the increments one launch spends raising the policy
// anchor (each is a TPM NV write); a larger jump of policy_version is
// reached over that many confirmed launches.
const MaxPolicyStep = 64

// PolicyAnchor is the pre-launch stage's rollback check of the signed
// launch policy (launch/README.md, "Rollback"). The TPM anchor at Index
// (tpm.Anchor: only the pre-launch stage increments it, nobody lowers it)
// holds the minimum policy_version plus one: a counter's first increment,
// on a TPM whose counters never went above 0, gives 1, a minimum of 0.
//
// The minimum is raised only after a successful launch of a newer policy,
// so that a policy that does not boot cannot lock the machine out of the
// older one: the launched OS confirms that its launch succeeded — when it
// decides it did, e.g. once its services run — by writing the signed
// policy it was launched with (handed over by `slkit launch --handover`)
// to the confirmation file on the shared disk (`slkit policy confirm`).
// The next pre-launch stage whose own signed policy is byte for byte that
// file raises the minimum to its policy_version, before it measures.
// Someone who can write the disk can confirm early, which only raises the
// minimum to the version of the policy the pre-launch image carries.
type PolicyAnchor struct {
	Index uint32
	// Confirmed is the confirmation file's content (nil: none).
	Confirmed []byte
	// OwnerAuth is the owner authorization to define the anchor with.
	OwnerAuth []byte
}

// PolicyCheck is what Check found.
type PolicyCheck struct {
	// Index is the anchor's NV index.
	Index uint32
	// Version is the policy's policy_version, Minimum the TPM's minimum
	// after any raise.
	Version, Minimum uint64
	// Raised: a confirmation raised the minimum in this launch; Defined:
	// the anchor was defined in this launch.
	Raised, Defined bool
	// RaiseErr is why a confirmed raise did not happen (nil otherwise).
	RaiseErr error
}

// Check raises the anchor when the policy's launch was confirmed, then
// refuses (ErrRollback, naming both versions) a policy whose
// policy_version is below the minimum. v is signed, verified.
func (p *PolicyAnchor) Check(t tpm.TPMSender, signed []byte, v *policy.Verified) (*PolicyCheck, error) {
	a, defined, err := tpm.OpenOrDefineAnchor(t, p.Index, tpm.WithOwnerAuth(p.OwnerAuth))
	if err != nil {
		return nil, fmt.Errorf("policy anchor: %w", err)
	}
	c := &PolicyCheck{Index: p.Index, Version: v.Policy.PolicyVersion, Defined: defined}
	val, err := a.Read(t)
	if err != nil {
		return nil, err
	}
	if val == 0 {
		return nil, fmt.Errorf("%w: policy anchor %#08x reads 0 after its first increment", tpm.ErrAnchor, p.Index)
	}
	c.Minimum = val - 1
	if p.Confirmed != nil && bytes.Equal(p.Confirmed, signed) && c.Version > c.Minimum {
		reached, err := a.RaiseTo(t, c.Version+1, MaxPolicyStep)
		c.Minimum, c.Raised = reached-1, reached > val
		if err != nil && !errors.Is(err, tpm.ErrNotStage) {
			return nil, err
		}
		c.RaiseErr = err
	}
	if c.Version < c.Minimum {
		why := ""
		if defined {
			why = "; the anchor was defined now, and a new counter starts above every counter this TPM had"
		}
		return c, fmt.Errorf("%w: launch policy version %d is below the minimum version %d the TPM holds (NV anchor %#08x%s); sign the policy with policy_version %d or above",
			ErrRollback, c.Version, c.Minimum, p.Index, why, c.Minimum)
	}
	return c, nil
}

// CheckSigned is Check of the signed policy signed, verified under pub
// (launch.VerifyPolicy), with the confirmation read from the file
// confirmPath in place of p.Confirmed (`slkit launch --policy-confirm`; a
// missing file is no confirmation, another failure an *fsys.InputError
// naming it; "" keeps p.Confirmed): the launch's rollback check, in the
// pre-launch stage before anything is measured. p is not changed.
func (p *PolicyAnchor) CheckSigned(t tpm.TPMSender, signed []byte, pub ed25519.PublicKey, confirmPath string) (*PolicyCheck, error) {
	v, err := launch.VerifyPolicy(signed, pub)
	if err != nil {
		return nil, err
	}
	a := *p
	if confirmPath != "" {
		if a.Confirmed, err = fsys.ReadOptional(confirmPath, policy.MaxEnvelopeSize); err != nil {
			return nil, err
		}
	}
	return a.Check(t, signed, v)
}

// String is the check in one line: the policy's version, the TPM's
// minimum, and what happened to the anchor.
func (c *PolicyCheck) String() string {
	note := ""
	switch {
	case c.Raised:
		note = ", raised: the launched OS confirmed this policy"
	case c.RaiseErr != nil:
		note = ", not raised: " + oneLine(c.RaiseErr.Error())
	case c.Defined:
		note = ", defined now"
	}
	return fmt.Sprintf("launch policy version %d, TPM minimum %d (anchor %#08x%s)", c.Version, c.Minimum, c.Index, note)
}
