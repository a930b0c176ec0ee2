package slaunch

// cpuid executes the CPUID instruction (cpuid_amd64.s). It is only called by
// HostPlatform.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

func hostCPUID(leaf, subleaf uint32) (CPUIDResult, error) {
	a, b, c, d := cpuid(leaf, subleaf)
	return CPUIDResult{a, b, c, d}, nil
}
