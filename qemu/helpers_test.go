package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/slkit/slkit/qemu/internal/guestimage"
)

var (
	guestOnce sync.Once
	guestPath string
	guestErr  error
	guestDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if guestDir != "" {
		os.RemoveAll(guestDir)
	}
	os.Exit(code)
}

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

// testGuest builds the test guest initramfs once per test binary.
func testGuest(t *testing.T) string {
	t.Helper()
	guestOnce.Do(func() {
		guestDir, guestErr = os.MkdirTemp("", "slkit-testguest-")
		if guestErr != nil {
			return
		}
		guestPath = filepath.Join(guestDir, "guest.cpio")
		guestErr = guestimage.Build(context.Background(), "github.com/slkit/slkit/qemu/internal/testguest", guestPath)
	})
	if guestErr != nil {
		t.Fatal(guestErr)
	}
	return guestPath
}
