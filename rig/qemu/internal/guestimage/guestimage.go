// Package guestimage builds tiny test initramfs images for the rig's own
// tests: one static Go program as /init, plus /dev/console and the mount
// points it needs. slkit's real image builder is package initramfs; this one
// exists so that the rig can be tested without it.
package guestimage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/slkit/slkit/internal/fsys"
)

// TestGuest is the import path of the rig's test guest.
const TestGuest = "github.com/slkit/slkit/rig/qemu/internal/testguest"

// Build compiles the main package pkg (an import path inside this module)
// statically and writes an initramfs with it as /init to out.
func Build(ctx context.Context, pkg, out string) error {
	bin := out + ".init"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v: %s", pkg, err, msg)
	}
	defer os.Remove(bin)
	init, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.Directory("proc", 0o755),
		cpio.Directory("sys", 0o755),
		cpio.Directory("tmp", 0o1777),
		cpio.StaticFile("init", string(init), 0o755),
	}
	cpio.MakeAllReproducible(recs)
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	if err := cpio.WriteRecords(w, recs); err != nil {
		return err
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return fsys.WriteFile(fsys.OS{}, out, buf.Bytes(), 0o644)
}
