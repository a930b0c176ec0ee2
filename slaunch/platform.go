package slaunch

import "strconv"

// Platform is the one hardware seam of this package: every read of CPUID,
// an MSR, a TXT register or the TPM's sysfs attributes goes through it.
// HostPlatform reads the real machine; Recording replays a JSON file of
// register values (tests, and "slkit drtm status --platform FILE").
type Platform interface {
	// CPUID executes CPUID with EAX=leaf, ECX=subleaf on the current CPU.
	CPUID(leaf, subleaf uint32) (CPUIDResult, error)
	// ReadMSR reads a model-specific register of a logical CPU
	// (Linux: pread of /dev/cpu/N/msr at offset msr).
	ReadMSR(cpu int, msr uint32) (uint64, error)
	// ReadTXT reads the 64-bit public TXT configuration register at offset
	// off from TXTPublicBase (Intel TXT SDG Appendix B.1).
	ReadTXT(off uint32) (uint64, error)
	// TPM describes the kernel's TPM device.
	TPM() (TPMInfo, error)
}

// CPUIDResult holds the four registers CPUID returns.
type CPUIDResult struct {
	EAX, EBX, ECX, EDX uint32
}

// TPMInfo is what the kernel tells about its TPM (sysfs, /dev).
type TPMInfo struct {
	// Present is true when the kernel has a TPM character device.
	Present bool `json:"present"`
	// Device is its path (/dev/tpm0).
	Device string `json:"device,omitempty"`
	// VersionMajor is 1 or 2 (/sys/class/tpm/tpm0/tpm_version_major), 0
	// when the kernel does not say.
	VersionMajor int `json:"version_major,omitempty"`
	// Driver is the kernel driver (tpm_tis, tpm_crb, ...), when known.
	Driver string `json:"driver,omitempty"`
	// Locality is the locality the kernel uses for /dev/tpm0
	// (/sys/class/tpm/tpm0/locality, Secure Launch v16 kernels only), or
	// -1 when the kernel does not say.
	Locality int `json:"locality"`
}

// Arch is a dynamic-launch architecture, numbered as the SLRT header's
// architecture field (Linux Secure Launch v16 include/linux/slr_table.h:
// SLR_INTEL_TXT 1, SLR_AMD_SKINIT 2).
type Arch uint16

// The two x86 dynamic-launch architectures.
const (
	ArchTXT    Arch = 1
	ArchSKINIT Arch = 2
)

func (a Arch) String() string {
	switch a {
	case ArchTXT:
		return "txt"
	case ArchSKINIT:
		return "skinit"
	}
	return "arch-" + strconv.Itoa(int(a))
}
