package slaunch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TXTPublicBase is the physical address of the TXT public configuration
// space (Intel TXT SDG Appendix B.1; 0xFED20000 is the private space).
const TXTPublicBase = 0xFED30000

// txtSpaceSize is the size of the TXT public space this package reads
// (the highest register it reads, E2STS, is at 0x8F0).
const txtSpaceSize = 0x1000

// HostPlatform reads the machine it runs on: CPUID with the CPUID
// instruction, MSRs through /dev/cpu/N/msr, TXT registers by mapping
// /dev/mem at TXTPublicBase, the TPM through /dev and /sys/class/tpm. Reads
// that the kernel refuses (no msr module, not root, no /dev/mem) return an
// error saying so; nothing is cached.
type HostPlatform struct {
	root string
}

type hostConfig struct{ root string }

// HostOption configures NewHostPlatform.
type HostOption func(*hostConfig)

// WithRoot looks up /dev and /sys below dir instead of / (tests).
func WithRoot(dir string) HostOption { return func(c *hostConfig) { c.root = dir } }

// NewHostPlatform returns the real platform.
func NewHostPlatform(opts ...HostOption) *HostPlatform {
	c := hostConfig{root: "/"}
	for _, o := range opts {
		o(&c)
	}
	return &HostPlatform{root: c.root}
}

func (h *HostPlatform) path(p string) string { return filepath.Join(h.root, p) }

// CPUID implements Platform.
func (h *HostPlatform) CPUID(leaf, subleaf uint32) (CPUIDResult, error) {
	return hostCPUID(leaf, subleaf)
}

// ReadMSR implements Platform with a pread of 8 bytes at offset msr of
// /dev/cpu/N/msr (Linux arch/x86/kernel/msr.c).
func (h *HostPlatform) ReadMSR(cpu int, msr uint32) (uint64, error) {
	dev := fmt.Sprintf("/dev/cpu/%d/msr", cpu)
	f, err := os.Open(h.path(dev))
	if err != nil {
		return 0, fmt.Errorf("read MSR %#x: %w", msr, explainDev(dev, err, "load the msr module (modprobe msr)"))
	}
	defer f.Close()
	var b [8]byte
	if _, err := f.ReadAt(b[:], int64(msr)); err != nil {
		return 0, fmt.Errorf("read MSR %#x on CPU %d: %w", msr, cpu, err)
	}
	return le64(b[:]), nil
}

// ReadTXT implements Platform by mapping the TXT public space from /dev/mem.
func (h *HostPlatform) ReadTXT(off uint32) (uint64, error) {
	if off%8 != 0 || off+8 > txtSpaceSize {
		return 0, fmt.Errorf("TXT register %#x: outside the public space read by slkit", off)
	}
	v, err := readPhys64(h.path("/dev/mem"), TXTPublicBase, txtSpaceSize, off)
	if err != nil {
		return 0, fmt.Errorf("read TXT register %#x: %w", off,
			explainDev("/dev/mem", err, "the kernel has no /dev/mem"))
	}
	return v, nil
}

// TPM implements Platform from /dev/tpm0 and /sys/class/tpm/tpm0.
func (h *HostPlatform) TPM() (TPMInfo, error) {
	info := TPMInfo{Locality: -1}
	sys := h.path("/sys/class/tpm/tpm0")
	dev := "/dev/tpm0"
	if _, err := os.Stat(h.path(dev)); err == nil {
		info.Present, info.Device = true, dev
	} else if _, err := os.Stat(sys); err == nil {
		info.Present = true
	}
	if !info.Present {
		return info, nil
	}
	if v, err := readSysInt(filepath.Join(sys, "tpm_version_major")); err == nil {
		info.VersionMajor = v
	}
	if v, err := readSysInt(filepath.Join(sys, "locality")); err == nil {
		info.Locality = v
	}
	if d, err := os.Readlink(filepath.Join(sys, "device", "driver")); err == nil {
		info.Driver = filepath.Base(d)
	}
	return info, nil
}

func readSysInt(p string) (int, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// explainDev adds what to do about a device file that cannot be opened.
func explainDev(dev string, err error, missing string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist (%s)", dev, missing)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied (run as root)", dev)
	}
	return err
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
