package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/rig/qemu/internal/guestimage"
	"github.com/slkit/slkit/rig/swtpm"
)

// The helpers of package qemutest, for this package's own tests (which
// cannot import qemutest or tpmtest: both import qemu).

// requireRig skips (or, with SLKIT_REQUIRE_RIG=1, fails) when QEMU, swtpm
// or the cached kernel is missing, and returns the kernel.
func requireRig(t *testing.T) *Kernel {
	t.Helper()
	for _, p := range []string{"qemu-system-x86_64", "swtpm"} {
		if _, err := exec.LookPath(p); err != nil {
			skipOrFatal(t, p+": "+err.Error())
		}
	}
	k, err := CachedKernel()
	if err != nil {
		skipOrFatal(t, err.Error())
	}
	return k
}

func skipOrFatal(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
		t.Fatalf("rig required (SLKIT_REQUIRE_RIG=1): %s", why)
	}
	t.Skipf("skipping: %s (run make deps)", why)
}

// testGuest builds the test guest initramfs in t's temporary directory.
func testGuest(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "guest.cpio")
	if err := guestimage.Build(context.Background(), guestimage.TestGuest, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// guestAppend is the kernel command line that runs the test guest's actions.
func guestAppend(actions string) string { return DefaultAppend + " testguest=" + actions }

// startTestRig starts a rig ended in t.Cleanup.
func startTestRig(t *testing.T, ctx context.Context, opts ...RigOption) *Rig {
	t.Helper()
	r, err := StartRig(ctx, t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func startSwtpm(t *testing.T, dir string, opts ...swtpm.Option) *swtpm.Process {
	t.Helper()
	s, err := swtpm.Start(context.Background(), dir, opts...)
	if err != nil {
		if errors.Is(err, ErrNotInstalled) {
			skipOrFatal(t, err.Error())
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
