// Package qemutest gives tests outside package qemu the rig: a check that
// QEMU, swtpm and the cached kernel are there (skipping, or failing with
// SLKIT_REQUIRE_RIG=1), the rig's test guest, and a rig ended in t.Cleanup.
package qemutest

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/qemu/internal/guestimage"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// RequireRig skips the test (or fails it with SLKIT_REQUIRE_RIG=1) when
// qemu-system-x86_64, swtpm or the cached kernel is missing, and returns
// the kernel.
func RequireRig(t testing.TB) *qemu.Kernel {
	t.Helper()
	for _, p := range []string{"qemu-system-x86_64", "swtpm"} {
		if _, err := exec.LookPath(p); err != nil {
			tpmtest.SkipOrFatal(t, err)
		}
	}
	k, err := qemu.CachedKernel()
	if err != nil {
		tpmtest.SkipOrFatal(t, err)
	}
	return k
}

// TestGuest builds the rig's test guest as an initramfs in t's temporary
// directory and returns its path. The guest, run as /init, mounts proc,
// sys, devtmpfs and securityfs, prints `slkit: phase=init t=<uptime>s`,
// performs the actions named by the kernel parameter testguest=a,b,c and
// powers off. Actions (results are console lines starting "TESTGUEST "):
//
//	pcr17      print PCR17 (sha1, sha256)
//	hostchan   ask the host over ttyS1 to run the _TPM_Hash sequence over "1234", then print PCR17
//	eventlog   print the firmware event log (base64) and PCRs 0-7 of every bank (JSON)
//	primary    print the name of the owner hierarchy's ECC SRK-template primary key
//	ok, fail   print `slkit: result=ok` / `slkit: result=fail reason=…`
//	reboot     reboot instead of powering off
//
// Boot it with qemu.WithAppend(qemu.DefaultAppend + " testguest=pcr17,ok").
func TestGuest(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "testguest.cpio")
	if err := guestimage.Build(context.Background(), guestimage.TestGuest, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// StartRig starts a rig in t's temporary directory and ends it (QEMU,
// the mux and swtpm, by PID) in t.Cleanup.
func StartRig(t testing.TB, ctx context.Context, opts ...qemu.RigOption) *qemu.Rig {
	t.Helper()
	r, err := qemu.StartRig(ctx, t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
