package conformance

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/initramfs/pid1"
)

// efivarfsDir, when set, runs the suite against the kernel's efivarfs
// mounted there (TestKernelEfivarfs). The rig test that boots this test
// binary as the /init of an OVMF guest sets it.
var efivarfsDir = flag.String("efivarfs", "", "run TestKernelEfivarfs against the efivarfs mount at `DIR`")

// TestMain: as PID 1 (the /init of the guest image) this binary is slkit's
// PID-1 runtime (initramfs/pid1): it mounts what the image needs, loads
// efivarfs.ko, mounts efivarfs, runs itself as the configured command
// (-test.run … -efivarfs …) and reports `slkit: result=ok|fail`.
func TestMain(m *testing.M) {
	if os.Getpid() == 1 {
		err := pid1.Run(pid1.NewSystem(), pid1.WithOutput(os.Stdout, os.Stderr))
		fmt.Fprintln(os.Stderr, "conformance init:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TestFake runs the suite against efitest's fake, with a 96 KiB store so
// that ENOSPC comes after a few writes.
func TestFake(t *testing.T) {
	Run(t, efitest.New(efitest.WithCapacity(96<<10)))
}

// TestKernelEfivarfs runs the suite against the kernel's efivarfs (only
// with -efivarfs DIR: rig/e2e's TestEfivarfsConformanceOnOVMF).
func TestKernelEfivarfs(t *testing.T) {
	if *efivarfsDir == "" {
		t.Skip("no -efivarfs DIR: run by rig/e2e TestEfivarfsConformanceOnOVMF in an OVMF guest")
	}
	b, err := efi.OpenBackend(*efivarfsDir)
	if err != nil {
		t.Fatal(err)
	}
	Run(t, b)
}
