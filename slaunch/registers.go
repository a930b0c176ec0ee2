package slaunch

// CPUID bits (Intel SDM Vol. 2A "CPUID"; AMD APM Vol. 3 Appendix E).
const (
	cpuidVendorLeaf   = 0x0
	cpuidFeatureLeaf  = 0x1        // EAX = family/model/stepping
	cpuidExtMaxLeaf   = 0x80000000 // EAX = highest extended leaf
	cpuidExtFeatLeaf  = 0x80000001
	cpuid1ECXSMX      = 1 << 6  // Safer Mode Extensions (GETSEC)
	cpuid1ECXHypervis = 1 << 31 // running under a hypervisor
	cpuidExtECXSVM    = 1 << 2  // Secure Virtual Machine
	cpuidExtECXSKINIT = 1 << 12 // SKINIT and STGI
)

// MSRs.
const (
	// msrPlatformID is IA32_PLATFORM_ID (Intel SDM Vol. 4); an ACM's
	// processor ID list matches it under PlatformMask (GRUB
	// loader/slaunch/acmod.c, GRUB_MSR_X86_PLATFORM_ID).
	msrPlatformID = 0x17
	// msrFeatureControl is IA32_FEATURE_CONTROL (Intel SDM Vol. 4 Table
	// 2-2): bit 0 lock, bits 14:8 SENTER local function enables, bit 15
	// SENTER global enable.
	msrFeatureControl      = 0x3A
	featCtlLock            = 1 << 0
	featCtlSENTERLocal     = 0x7F << 8
	featCtlSENTERGlobal    = 1 << 15
	msrVMCR                = 0xC0010114 // AMD VM_CR (APM Vol. 2 §15.30.1)
	vmcrLock               = 1 << 3
	vmcrSVMDIS             = 1 << 4
	featCtlSENTERFunctions = featCtlSENTERLocal | featCtlSENTERGlobal
)

// TXT public configuration registers, offsets from TXTPublicBase (Intel TXT
// SDG Appendix B.1; the same offsets in GRUB include/grub/i386/txt.h and
// Linux arch/x86/include/asm/txt.h).
const (
	txtSTS        = 0x000 // bit 0 SENTER.DONE, bit 1 SEXIT.DONE
	txtESTS       = 0x008 // bit 0 TXT_RESET.STS
	txtERRORCODE  = 0x030
	txtVERFSBIF   = 0x100 // bit 31 = 1: production fused
	txtDIDVID     = 0x110 // VID 15:0, DID 31:16, RID 47:32, ID-EXT 63:48
	txtVERQPIIF   = 0x200 // used when VER.FSBIF reads all ones or zero
	txtSINITBase  = 0x270
	txtSINITSize  = 0x278
	txtHEAPBase   = 0x300
	txtHEAPSize   = 0x308
	txtDPR        = 0x330
	txtE2STS      = 0x8F0
	stsSENTERDone = 1 << 0
	stsSEXITDone  = 1 << 1
	estsTXTReset  = 1 << 0
	verProdFused  = 1 << 31
	// errorcodeBenign is the ERRORCODE value tboot treats as "no error"
	// besides zero (a successful launch leaves 0xC0000001).
	errorcodeBenign = 0xC0000001
)
