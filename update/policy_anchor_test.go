package update_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

func versioned(t *testing.T, v int) ([]byte, *policy.Verified) {
	t.Helper()
	doc := fmt.Sprintf(`{"version": 1, "policy_version": %d, "entries": [{"name": "a",
  "kernel": {"path": "/k", "sha256": "%064x"}, "cmdline": "v%d", "profile": "measured-v1"}]}`, v, v, v)
	pub, priv := newKey(t)
	signed, err := policy.Sign([]byte(doc), priv)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := launch.VerifyPolicy(signed, pub)
	if err != nil {
		t.Fatal(err)
	}
	return signed, ver
}

// TestPolicyRollback: the TPM minimum starts at 0, is raised only by a
// pre-launch stage whose policy the launched OS confirmed, and a policy
// below it is refused naming both versions.
func TestPolicyRollback(t *testing.T) {
	tt := tpmtest.Open(t)
	v1, pv1 := versioned(t, 1)
	v2, pv2 := versioned(t, 2)
	v3, pv3 := versioned(t, 3)
	check := func(signed []byte, pv *policy.Verified, confirmed []byte) (*update.PolicyCheck, error) {
		return (&update.PolicyAnchor{Index: tpm.DefaultPolicyAnchorIndex, Confirmed: confirmed}).Check(tt, signed, pv)
	}
	// First launch of v2: the anchor is defined, the minimum 0.
	c, err := check(v2, pv2, nil)
	if err != nil || !c.Defined || c.Minimum != 0 || c.Raised {
		t.Fatalf("first launch: %+v %v", c, err)
	}
	if got, want := c.String(), "launch policy version 2, TPM minimum 0 (anchor 0x0180534d, defined now)"; got != want {
		t.Errorf("first launch: %q, want %q", got, want)
	}
	// Nothing confirmed yet: v1 still launches (v2 might not boot).
	if _, err := check(v1, pv1, nil); err != nil {
		t.Fatalf("v1 before v2 was confirmed: %v", err)
	}
	// A confirmation of another policy raises nothing.
	if c, err := check(v2, pv2, v3); err != nil || c.Raised || c.Minimum != 0 {
		t.Fatalf("confirmation of v3 while launching v2: %+v %v", c, err)
	}
	// The launched OS confirmed v2: the next pre-launch stage raises.
	if c, err := check(v2, pv2, v2); err != nil || !c.Raised || c.Minimum != 2 ||
		c.String() != "launch policy version 2, TPM minimum 2 (anchor 0x0180534d, raised: the launched OS confirmed this policy)" {
		t.Fatalf("confirmed v2: %+v %v", c, err)
	}
	_, err = check(v1, pv1, v1)
	if !errors.Is(err, update.ErrRollback) || !strings.Contains(err.Error(), "launch policy version 1 is below the minimum version 2") {
		t.Fatalf("v1 after v2: %v", err)
	}
	// After the launch (PCR 8 extended) nothing raises it: a confirmed v3
	// in the launched OS is not taken.
	extend(t, tt, 8, "launch-policy")
	c, err = check(v3, pv3, v3)
	if err != nil || c.Raised || !errors.Is(c.RaiseErr, tpm.ErrNotStage) || c.Minimum != 2 {
		t.Fatalf("raise after the launch: %+v %v", c, err)
	}
	if got := c.String(); !strings.HasPrefix(got, "launch policy version 3, TPM minimum 2 (anchor 0x0180534d, not raised: ") || strings.Contains(got, "\n") {
		t.Errorf("raise after the launch: %q", got)
	}
}

// TestPolicyAnchorStartsAboveOldCounters: a policy anchor defined on a TPM
// that already had a higher counter starts above it (nobody can lower a
// counter, not even by deleting and defining it again); a policy below
// that is refused, saying why.
func TestPolicyAnchorStartsAboveOldCounters(t *testing.T) {
	tt := tpmtest.Open(t)
	j, err := tpm.DefineAnchor(tt, tpm.DefaultJournalAnchorIndex)
	if err != nil {
		t.Fatal(err)
	}
	j.RaiseTo(tt, 5, 10)
	named := tpm2.NamedHandle{Handle: tpm2.TPMHandle(j.Index), Name: tpm2.TPM2BName{Buffer: j.Name}}
	if _, err := (tpm2.NVUndefineSpace{AuthHandle: tpm2.TPMRHOwner, NVIndex: named}).Execute(tt); err != nil {
		t.Fatal(err)
	}
	v2, pv2 := versioned(t, 2)
	_, err = (&update.PolicyAnchor{Index: tpm.DefaultPolicyAnchorIndex}).Check(tt, v2, pv2)
	if !errors.Is(err, update.ErrRollback) || !strings.Contains(err.Error(), "minimum version 5") || !strings.Contains(err.Error(), "defined now") {
		t.Fatalf("%v", err)
	}
}
