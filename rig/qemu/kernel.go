package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/slkit/slkit/rig/swtpm"
)

// ErrNotInstalled is returned when a rig program (qemu-system-x86_64,
// swtpm, mkfs.ext4) is not on PATH; it is package swtpm's error, so that
// one errors.Is covers both.
var ErrNotInstalled = swtpm.ErrNotInstalled

// ErrNoKernel is returned when the Debian cloud kernel fetched by
// `make deps` is not in the cache.
var ErrNoKernel = errkind.New(errkind.IO, "no cached kernel")

// CacheDir is where `make deps` puts kernels and fixtures: $SLKIT_CACHE, or
// .cache in the module root above the working directory.
func CacheDir() (string, error) {
	if d := os.Getenv("SLKIT_CACHE"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "..", "go.mod")); err == nil && filepath.Base(d) == "bench" {
				continue
			}
			return filepath.Join(d, ".cache"), nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("%w: set SLKIT_CACHE or run inside the slkit module", ErrNoKernel)
		}
	}
}

// Kernel is the Debian cloud kernel extracted by `make deps`.
type Kernel struct {
	// Path is the bzImage (vmlinuz).
	Path string
	// Version is the kernel release, e.g. "6.1.0-56-cloud-amd64".
	Version string
	// Modules is the modules directory (lib/modules/VERSION).
	Modules string
}

// CachedKernel returns the kernel in the cache, or ErrNoKernel naming the
// command that fetches it.
func CachedKernel() (*Kernel, error) {
	c, err := CacheDir()
	if err != nil {
		return nil, err
	}
	d := filepath.Join(c, "kernel")
	k := &Kernel{Path: filepath.Join(d, "vmlinuz"), Modules: filepath.Join(d, "modules")}
	v, err := os.ReadFile(filepath.Join(d, "version"))
	if err != nil {
		return nil, fmt.Errorf("%w in %s: run make deps", ErrNoKernel, d)
	}
	k.Version = strings.TrimSpace(string(v))
	if _, err := os.Stat(k.Path); err != nil {
		return nil, fmt.Errorf("%w: %s missing: run make deps", ErrNoKernel, k.Path)
	}
	return k, nil
}

// Module returns the path of a kernel module by its relative path under
// kernel/, e.g. "fs/efivarfs/efivarfs.ko".
func (k *Kernel) Module(rel string) (string, error) {
	p := filepath.Join(k.Modules, "kernel", rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("kernel module %s: %w", rel, err)
	}
	return p, nil
}
