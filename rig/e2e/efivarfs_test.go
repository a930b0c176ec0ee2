package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
)

// TestEfivarfsConformanceOnOVMF runs the efivarfs contract of efi/efitest
// (efi/efitest/conformance, which TestFake runs against the fake) against
// the Debian kernel's efivarfs over OVMF's variable services, in one OVMF
// boot: the suite's test binary (go test -c) is the image's /init, runs
// slkit's PID-1 runtime (mounts, efivarfs.ko, efivarfs) and then itself
// with -test.run TestKernelEfivarfs. Every subtest must pass in the guest.
func TestEfivarfsConformanceOnOVMF(t *testing.T) {
	t.Parallel()
	e := rigtest.New(t)
	root, err := initramfs.FindSource("")
	if err != nil {
		t.Fatal(err)
	}
	bin := e.Path("conformance.test")
	cmd := exec.Command("go", "test", "-c", "-trimpath", "-o", bin, "./efi/efitest/conformance")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	efivarfs := filepath.Join(filepath.Dir(e.Kernel.Path), "modules", "kernel", "fs", "efivarfs", "efivarfs.ko")
	img := e.Image("conformance.cpio", "--slkit-binary", bin, "--module", efivarfs,
		"--run", "-test.run ^TestKernelEfivarfs$ -test.v -efivarfs /sys/firmware/efi/efivars")
	start := time.Now()
	b := e.Boot(img, qemu.DefaultAppend, rigtest.WithVM(qemu.WithOVMF(qemu.OVMF{})), rigtest.WithTimeout(15*time.Minute))
	t.Logf("OVMF boot and suite: %.1f s", time.Since(start).Seconds())
	b.MustSucceed(t)
	for _, sub := range []string{"phantom", "immutable", "replace", "append", "delete", "enospc"} {
		if len(b.Lines("--- PASS: TestKernelEfivarfs/"+sub+" ")) != 1 {
			t.Errorf("subtest %s did not pass in the guest:\n%s", sub, b.Tail(40))
		}
	}
	if l := b.Lines("ENOSPC after"); len(l) == 1 {
		t.Log(strings.TrimSpace(l[0]))
	}
}
