package rigtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/qemu/qemutest"
	"github.com/slkit/slkit/rig/swtpm"
)

// Env is one end-to-end scenario.
type Env struct {
	T testing.TB
	// Dir is the scenario's scratch directory (t.TempDir()).
	Dir string
	// Slkit is a static slkit binary built from this checkout, run on the
	// host (images carry ImageSlkit).
	Slkit string
	// Kernel is the cached Debian cloud kernel (make deps).
	Kernel *qemu.Kernel
	// TPMState is the swtpm state directory shared by the host and the VM.
	TPMState string
}

// New checks for the rig (qemutest.RequireRig) and builds slkit.
func New(t testing.TB) *Env {
	t.Helper()
	k := qemutest.RequireRig(t)
	dir := t.TempDir()
	e := &Env{T: t, Dir: dir, Kernel: k, Slkit: filepath.Join(dir, "slkit"), TPMState: filepath.Join(dir, "tpm")}
	root, err := initramfs.FindSource("")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", e.Slkit, "./cmd/slkit")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build slkit: %v\n%s", err, out)
	}
	return e
}

// Path is name inside the scenario's directory.
func (e *Env) Path(name string) string { return filepath.Join(e.Dir, name) }

// Result is one run of the host slkit.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// RunExit runs the host slkit with args and returns what it printed and
// its exit code (the test fails only if it cannot be started).
func (e *Env) RunExit(args ...string) Result {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Slkit, args...)
	cmd.Dir = e.Dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		e.T.Fatalf("slkit %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// Run runs the host slkit with args, fails the test unless it exits 0,
// and returns its stdout.
func (e *Env) Run(args ...string) string {
	e.T.Helper()
	r := e.RunExit(args...)
	if r.Code != 0 {
		e.T.Fatalf("slkit %s: exit %d\n%s%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// Image builds an initramfs at Path(name) with `slkit initramfs build`
// and the given flags (ImageSlkit inside, unless flags name another
// --slkit-binary), and returns its path.
func (e *Env) Image(name string, flags ...string) string {
	e.T.Helper()
	out := e.Path(name)
	args := []string{"initramfs", "build", "--out", out}
	if !slices.Contains(flags, "--slkit-binary") {
		args = append(args, "--slkit-binary", e.ImageSlkit())
	}
	e.Run(append(args, flags...)...)
	return out
}

// GoBinary builds the main package pkg of this module (an import path)
// statically and returns the binary's path, for images whose /init is not
// slkit (Image with --slkit-binary).
func (e *Env) GoBinary(pkg string) string {
	e.T.Helper()
	root, err := initramfs.FindSource("")
	if err != nil {
		e.T.Fatal(err)
	}
	bin := e.Path(path.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		e.T.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// ImageSlkit builds, once per Env, slkit as an image carries it
// (initramfs.ImageSlkitBuild: -tags slkit_image, no rig and no image
// builder, no symbols; about half the host binary) and returns its path.
// Image puts it into every image unless told otherwise.
func (e *Env) ImageSlkit() string {
	e.T.Helper()
	bin := e.Path("slkit-image")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	root, err := initramfs.FindSource("")
	if err != nil {
		e.T.Fatal(err)
	}
	args, env := initramfs.ImageSlkitBuild(bin)
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = root, env
	if out, err := cmd.CombinedOutput(); err != nil {
		e.T.Fatalf("build the image's slkit: %v\n%s", err, out)
	}
	return bin
}

// WithHostTPM starts swtpm on TPMState with a data socket (the TPM is
// started: TPM2_Startup(CLEAR)), runs f with its --tpm spec, and ends
// swtpm by its PID, so that the VM boots with the same TPM afterwards.
func (e *Env) WithHostTPM(f func(spec string)) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := swtpm.Start(ctx, e.TPMState, swtpm.WithDataSocket())
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { s.Close() })
	defer s.Close()
	f(s.Spec())
}
