package slaunch

import (
	"encoding/binary"
	"fmt"
)

// Verdict is the outcome of a readiness check.
type Verdict string

// Verdicts.
const (
	// Ready: nothing blocks a dynamic launch that the probe can see.
	Ready Verdict = "ready"
	// NotCapable: at least one reason definitely blocks it.
	NotCapable Verdict = "not capable"
	// Unknown: nothing definitely blocks it, but something could not be read.
	Unknown Verdict = "unknown"
)

// Readiness is the verdict for one architecture with its reasons.
type Readiness struct {
	Arch    string  `json:"arch"`
	Verdict Verdict `json:"verdict"`
	// Reasons lists every blocking reason, then every read that failed
	// ("cannot tell: ...").
	Reasons []string `json:"reasons,omitempty"`
	// Notes are facts worth knowing that do not block a launch.
	Notes []string `json:"notes,omitempty"`

	blockers, unknowns []string
}

func (r *Readiness) block(format string, a ...any) {
	r.blockers = append(r.blockers, fmt.Sprintf(format, a...))
}

func (r *Readiness) unknown(format string, a ...any) {
	r.unknowns = append(r.unknowns, "cannot tell: "+fmt.Sprintf(format, a...))
}

func (r *Readiness) note(format string, a ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, a...))
}

func (r *Readiness) finish() {
	r.Reasons = append(append([]string(nil), r.blockers...), r.unknowns...)
	switch {
	case len(r.blockers) > 0:
		r.Verdict = NotCapable
	case len(r.unknowns) > 0:
		r.Verdict = Unknown
	default:
		r.Verdict = Ready
	}
}

// CPU is what the probe learnt from CPUID.
type CPU struct {
	Vendor string `json:"vendor"`
	// Signature is CPUID.1:EAX (family, model, stepping).
	Signature  Reg  `json:"signature"`
	Hypervisor bool `json:"hypervisor"`
	SMX        bool `json:"smx"`
	SVM        bool `json:"svm"`
	SKINIT     bool `json:"skinit"`
}

// TXTRegisters are the public TXT registers the probe read (Intel TXT SDG
// Appendix B.1); absent when they could not be read.
type TXTRegisters struct {
	STS       Reg `json:"sts"`
	ESTS      Reg `json:"ests"`
	ErrorCode Reg `json:"errorcode"`
	DIDVID    Reg `json:"didvid"`
	// Ver is VER.FSBIF, or VER.QPIIF when VER.FSBIF reads all ones or zero.
	Ver       Reg `json:"ver"`
	SINITBase Reg `json:"sinit_base"`
	SINITSize Reg `json:"sinit_size"`
	HeapBase  Reg `json:"heap_base"`
	HeapSize  Reg `json:"heap_size"`
	DPR       Reg `json:"dpr"`
}

// Status is the result of Probe.
type Status struct {
	CPU      CPU           `json:"cpu"`
	TPM      TPMInfo       `json:"tpm"`
	TPMError string        `json:"tpm_error,omitempty"`
	TXTRegs  *TXTRegisters `json:"txt_registers,omitempty"`
	TXT      Readiness     `json:"txt"`
	SKINIT   Readiness     `json:"skinit"`
}

// Ready reports whether the probe found nothing blocking arch.
func (s *Status) Ready(a Arch) bool {
	if a == ArchTXT {
		return s.TXT.Verdict == Ready
	}
	return s.SKINIT.Verdict == Ready
}

// Probe reads the platform through p and reports Intel TXT and AMD SKINIT
// readiness, with every blocking reason. It never fails: a read that fails
// becomes a "cannot tell" reason. The checks are those a TrenchBoot loader
// makes before a launch (drtm.md "(a) What a userland slaunch stage must
// do"; GRUB loader/slaunch/txt.c and skinit.c; tboot txt-stat):
//
//	TXT:    GenuineIntel; CPUID.1:ECX[6] SMX; IA32_FEATURE_CONTROL (0x3A)
//	        locked with SENTER enabled (bits 15, 14:8); TXT registers
//	        readable and not all ones; TXT.ESTS TXT_RESET clear; heap and
//	        SINIT region set up; a TPM 2.0.
//	SKINIT: AuthenticAMD or HygonGenuine; CPUID 0x80000001:ECX[2] SVM and
//	        ECX[12] SKINIT; VM_CR (0xC0010114) SVMDIS clear; a TPM 2.0.
//
// Both: not under a hypervisor (QEMU hides SMX, and KVM turns SKINIT into
// #UD: drtm.md §5 "QEMU").
func Probe(p Platform) *Status {
	s := &Status{TXT: Readiness{Arch: ArchTXT.String()}, SKINIT: Readiness{Arch: ArchSKINIT.String()}}
	if probeCPU(p, s) {
		probeTXT(p, s)
		probeSKINIT(p, s)
	}
	probeTPM(p, s)
	s.TXT.finish()
	s.SKINIT.finish()
	return s
}

const underHypervisor = "running under a hypervisor (CPUID.1:ECX[31] = 1): a virtual machine cannot execute %s"

func probeCPU(p Platform, s *Status) bool {
	v, err := p.CPUID(cpuidVendorLeaf, 0)
	if err != nil {
		s.TXT.unknown("%v", err)
		s.SKINIT.unknown("%v", err)
		return false
	}
	var vb [12]byte
	binary.LittleEndian.PutUint32(vb[0:], v.EBX)
	binary.LittleEndian.PutUint32(vb[4:], v.EDX)
	binary.LittleEndian.PutUint32(vb[8:], v.ECX)
	s.CPU.Vendor = string(vb[:])
	f, err := p.CPUID(cpuidFeatureLeaf, 0)
	if err != nil {
		s.TXT.unknown("%v", err)
		s.SKINIT.unknown("%v", err)
		return false
	}
	s.CPU.Signature = Reg(f.EAX)
	s.CPU.SMX = f.ECX&cpuid1ECXSMX != 0
	s.CPU.Hypervisor = f.ECX&cpuid1ECXHypervis != 0
	if m, err := p.CPUID(cpuidExtMaxLeaf, 0); err == nil && m.EAX >= cpuidExtFeatLeaf {
		if e, err := p.CPUID(cpuidExtFeatLeaf, 0); err == nil {
			s.CPU.SVM = e.ECX&cpuidExtECXSVM != 0
			s.CPU.SKINIT = e.ECX&cpuidExtECXSKINIT != 0
		} else {
			s.SKINIT.unknown("%v", err)
		}
	} else if err != nil {
		s.SKINIT.unknown("%v", err)
	}
	return true
}

func probeTPM(p Platform, s *Status) {
	t, err := p.TPM()
	s.TPM = t
	for _, r := range []*Readiness{&s.TXT, &s.SKINIT} {
		switch {
		case err != nil:
			s.TPMError = err.Error()
			r.unknown("TPM: %v", err)
		case !t.Present:
			r.block("no TPM 2.0 (the kernel has no TPM device)")
		case t.VersionMajor == 0:
			r.unknown("TPM version (the kernel does not report tpm_version_major)")
		case t.VersionMajor != 2:
			r.block("no TPM 2.0 (found a TPM %d.x)", t.VersionMajor)
		}
	}
}

func probeTXT(p Platform, s *Status) {
	r := &s.TXT
	if s.CPU.Vendor != "GenuineIntel" {
		r.block("CPU is not an Intel CPU (vendor %q): TXT needs Intel SMX", s.CPU.Vendor)
		return
	}
	if !s.CPU.SMX {
		r.block("CPU has no SMX (CPUID.1:ECX[6] = 0)")
	}
	if s.CPU.Hypervisor {
		r.block(underHypervisor, "GETSEC[SENTER]")
	}
	fc, err := p.ReadMSR(0, msrFeatureControl)
	switch {
	case err != nil:
		r.unknown("%v", err)
	case fc&featCtlLock == 0:
		r.block("IA32_FEATURE_CONTROL not locked (MSR 0x3A = %#x): firmware did not enable TXT", fc)
	case fc&featCtlSENTERFunctions != featCtlSENTERFunctions:
		r.block("SENTER not enabled in IA32_FEATURE_CONTROL (MSR 0x3A = %#x, bits 15 and 14:8 must be set)", fc)
	}
	regs, err := readTXTRegisters(p)
	if err != nil {
		r.unknown("%v", err)
		return
	}
	s.TXTRegs = regs
	if regs.STS == ^Reg(0) && regs.ESTS == ^Reg(0) {
		r.block("TXT registers at %#x read as all ones: TXT is disabled in firmware or absent", TXTPublicBase)
		return
	}
	if regs.ESTS&estsTXTReset != 0 {
		r.block("TXT.ESTS TXT_RESET set: a previous launch failed; SENTER is blocked until a power cycle")
	}
	if regs.HeapBase == 0 || regs.HeapSize == 0 {
		r.block("TXT heap not set up by firmware (TXT.HEAP.BASE %#x, SIZE %#x)", regs.HeapBase, regs.HeapSize)
	}
	if regs.SINITBase == 0 || regs.SINITSize == 0 {
		r.block("no SINIT region reserved by firmware (TXT.SINIT.BASE %#x, SIZE %#x)", regs.SINITBase, regs.SINITSize)
	}
	if e := uint32(regs.ErrorCode); e != 0 && e != errorcodeBenign {
		r.note("TXT.ERRORCODE %#08x: the last launch attempt failed", e)
	}
	if regs.STS&stsSENTERDone != 0 {
		r.note("TXT.STS SENTER.DONE: a measured launch environment is running")
	}
	if regs.Ver&verProdFused == 0 {
		r.note("chipset is debug-fused (VER bit 31 = 0): only debug-signed SINIT ACMs run")
	}
}

// readTXTRegisters reads the registers a launch depends on.
func readTXTRegisters(p Platform) (*TXTRegisters, error) {
	regs := &TXTRegisters{}
	for _, x := range []struct {
		off uint32
		dst *Reg
	}{
		{txtSTS, &regs.STS}, {txtESTS, &regs.ESTS}, {txtERRORCODE, &regs.ErrorCode},
		{txtDIDVID, &regs.DIDVID}, {txtVERFSBIF, &regs.Ver},
		{txtSINITBase, &regs.SINITBase}, {txtSINITSize, &regs.SINITSize},
		{txtHEAPBase, &regs.HeapBase}, {txtHEAPSize, &regs.HeapSize}, {txtDPR, &regs.DPR},
	} {
		v, err := p.ReadTXT(x.off)
		if err != nil {
			return nil, err
		}
		*x.dst = Reg(v)
	}
	// GRUB acmod.c grub_txt_acmod_match_platform: VER.QPIIF replaces
	// VER.FSBIF when the latter reads all ones or zero.
	if low := uint32(regs.Ver); low == 0xFFFFFFFF || low == 0 {
		v, err := p.ReadTXT(txtVERQPIIF)
		if err != nil {
			return nil, err
		}
		regs.Ver = Reg(v)
	}
	return regs, nil
}

func probeSKINIT(p Platform, s *Status) {
	r := &s.SKINIT
	if s.CPU.Vendor != "AuthenticAMD" && s.CPU.Vendor != "HygonGenuine" {
		r.block("CPU is not an AMD CPU (vendor %q): SKINIT needs AMD SVM", s.CPU.Vendor)
		return
	}
	if !s.CPU.SVM {
		r.block("CPU has no SVM (CPUID 0x80000001:ECX[2] = 0)")
	}
	if !s.CPU.SKINIT {
		r.block("CPU has no SKINIT (CPUID 0x80000001:ECX[12] = 0)")
	}
	if s.CPU.Hypervisor {
		r.block(underHypervisor, "SKINIT")
	}
	if !s.CPU.SVM {
		return // VM_CR is meaningless without SVM
	}
	vmcr, err := p.ReadMSR(0, msrVMCR)
	switch {
	case err != nil:
		r.unknown("%v", err)
	case vmcr&vmcrSVMDIS != 0:
		r.block("SVM disabled in VM_CR (MSR 0xC0010114 = %#x, SVMDIS set by firmware)", vmcr)
	}
}
