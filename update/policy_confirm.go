package update

import (
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
)

// ConfirmPolicy confirms that the launch of the signed policy in the
// file signedPath succeeded (`slkit policy confirm`, in the launched OS):
// it writes the policy's exact bytes to out, the confirmation file the
// next pre-launch stage reads (PolicyAnchor.Confirmed), which raises the
// TPM's minimum policy_version to the policy's version at the next
// launch of the same policy. It returns that version. A file that is not
// a signed policy (policy.ParseSigned; its signature is checked by the
// pre-launch stage) is an *fsys.InputError naming it.
func ConfirmPolicy(signedPath, out string) (uint64, error) {
	signed, err := policy.SignedInput.Read(signedPath)
	if err != nil {
		return 0, err
	}
	p, err := policy.ParseSigned(signed)
	if err != nil {
		return 0, &fsys.InputError{Path: signedPath, Err: err}
	}
	return p.PolicyVersion, fsys.WriteFile(fsys.OS{}, out, signed, 0o644)
}
