package e2e_test

import (
	"fmt"

	"github.com/slkit/slkit/rig/rigtest"
)

// oneEntryPolicy makes a policy key pair (policy.key, policy.pub) and a
// signed policy (policy.signed) with one measured-v1 entry name: kernel at
// /boot/vmlinuz, initrd at /boot/target.cpio, and cmdline. It returns the
// signed policy's path.
func oneEntryPolicy(e *rigtest.Env, name, kernel, initrd, cmdline string) string {
	e.T.Helper()
	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))
	e.WriteFile("policy.json", fmt.Sprintf(`{"version": 1, "entries": [{"name": %q,
 "kernel": {"path": "/boot/vmlinuz", "sha256": %q}, "initrd": {"path": "/boot/target.cpio", "sha256": %q},
 "cmdline": %q, "profile": "measured-v1"}]}`, name, rigtest.FileSHA256(e.T, kernel), rigtest.FileSHA256(e.T, initrd), cmdline))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("policy.json"), "--out", e.Path("policy.signed"))
	return e.Path("policy.signed")
}
