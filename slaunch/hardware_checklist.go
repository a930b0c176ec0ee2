package slaunch

import (
	"fmt"
	"strings"
)

// Checklist is one page of what a dynamic launch from ring 0 would still
// need on this machine, derived from the probe (the CPU, the TXT
// registers, the TPM's driver and locality, every blocking reason) and
// from what the hardware backend staged: the steps a ring-0 launch stub
// or a TrenchBoot loader performs before GETSEC[SENTER] (Intel TXT SDG
// §2.2 "MLE launch", GRUB loader/slaunch/txt.c) or SKINIT (AMD APM Vol. 2
// §15.27.1, GRUB skinit.c), with this machine's values filled in. It is
// written next to the staged files by `slkit drtm stage --backend
// hardware --out DIR`.
func (st *HardwareStage) Checklist() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	s := st.Status
	p("Ring-0 dynamic launch checklist for this machine (slkit drtm stage --backend hardware)")
	p("")
	p("Platform, as probed")
	p("  CPU %s, signature %#x; %s", strings.TrimSpace(s.CPU.Vendor), uint32(s.CPU.Signature), tpmLine(s))
	for _, r := range []Readiness{s.TXT, s.SKINIT} {
		name := map[string]string{"txt": "Intel TXT", "skinit": "AMD SKINIT"}[r.Arch]
		p("  %s: %s", name, r.Verdict)
		for _, x := range r.Reasons {
			p("    [ ] fix: %s", x)
		}
		for _, x := range r.Notes {
			p("    note: %s", x)
		}
	}
	if st.Arch == 0 {
		p("")
		p("Neither architecture is ready: fix the items above first (firmware settings, a TPM 2.0, a machine that is not a VM).")
		return b.String()
	}
	p("")
	p("Staged and validated by slkit")
	for _, x := range st.staged {
		p("  [x] %s", x)
	}
	p("")
	p("Still needed: what a ring-0 launch stub (or the loader) does on this machine")
	if st.Arch == ArchTXT {
		st.txtSteps(p)
	} else {
		st.skinitSteps(p)
	}
	if st.Kernel != nil {
		for _, x := range st.Kernel.Describe() {
			p("  [ ] kernel: %s", x)
		}
	}
	p("")
	p("Today the launch goes through TrenchBoot GRUB: slkit drtm stage --backend grub.")
	return b.String()
}

func tpmLine(s *Status) string {
	switch {
	case s.TPMError != "":
		return "TPM unknown (" + s.TPMError + ")"
	case !s.TPM.Present:
		return "no TPM device"
	}
	l := fmt.Sprintf("TPM %d.0 at %s", s.TPM.VersionMajor, s.TPM.Device)
	if s.TPM.Driver != "" {
		l += ", driver " + s.TPM.Driver
	}
	if s.TPM.Locality >= 0 {
		l += fmt.Sprintf(", the kernel at locality %d", s.TPM.Locality)
	}
	return l
}

func (st *HardwareStage) txtSteps(p func(string, ...any)) {
	r := st.Status.TXTRegs
	acmSize := 0
	if st.ACM != nil {
		acmSize = int(st.ACM.Size) * 4 // Size counts dwords (SDG Table A-1)
	}
	p("  [ ] copy the SINIT ACM (%d bytes) to TXT.SINIT.BASE %#x (the region holds %#x bytes), or keep firmware's copy when it is newer", acmSize, uint64(r.SINITBase), uint64(r.SINITSize))
	p("  [ ] reserve below 4 GiB, inside the DMA-protected range (PMR low 2 GiB here, TXT.DPR %#x): the MLE, its page tables, the SLRT and the DRTM log (%d KiB); slkit staged them at the emulated layout's addresses, which user space cannot reserve", uint64(r.DPR), EmuLogSize>>10)
	p("  [ ] build the MLE page tables (PAE, 4 KiB pages, the MLE mapped contiguously from its base) and write their address into OsSinitData (MLEPageTable is 0 in the stage)")
	if st.OsSinitData != nil {
		p("  [ ] write the TXT heap at TXT.HEAP.BASE %#x (%#x bytes): OsMleData, the staged OsSinitData (capabilities %#x) and room for SinitMleData, each with its size", uint64(r.HeapBase), uint64(r.HeapSize), st.OsSinitData.Capabilities)
	} else {
		p("  [ ] write the TXT heap at TXT.HEAP.BASE %#x (%#x bytes): OsMleData, OsSinitData and room for SinitMleData, each with its size", uint64(r.HeapBase), uint64(r.HeapSize))
	}
	if st.SLRT != nil {
		if x, ok := st.SLRT.Find(TagIntelInfo).(IntelInfo); ok {
			p("  [ ] set the MTRRs: the SINIT region write-back, everything else of a type SINIT accepts; restore the %d variable MTRRs and MISC_ENABLE %#x recorded in INTEL_INFO after the launch", x.MTRRVCnt, x.MiscEnableMSR)
		}
	} else {
		p("  [ ] set the MTRRs: the SINIT region write-back; record the current ones in the SLRT's INTEL_INFO")
	}
	p("  [ ] stop every other CPU (halted, interrupts off); after the launch they rejoin through GETSEC[WAKEUP] or MONITOR as OsSinitData's capabilities say")
	p("  [ ] release the TPM: close every locality the kernel's driver holds (%s), so that SINIT can use localities 3 and 4", tpmLine(st.Status))
	p("  [ ] on the boot CPU in ring 0: CR4.SMXE=1, CR0.CD=0 and NE=1, no machine check pending, then GETSEC[SENTER] with EAX=4, EBX=SINIT base, ECX=SINIT size, EDX=0")
}

func (st *HardwareStage) skinitSteps(p func(string, ...any)) {
	measured := 0
	if st.SKL != nil {
		measured = int(st.SKL.MeasuredSize)
	}
	p("  [ ] copy the SKL to a 64 KiB-aligned 64 KiB SLB below 4 GiB (slkit staged it at %#x, which user space cannot reserve); the SLRT at SLB + bootloader_data_offset, the DRTM log outside the SLB", EmuSLBBase)
	p("  [ ] place the DLME (the kernel) below 4 GiB and fill the SLRT's DL_INFO with its base, size and entry; SKINIT's DEV protection covers only the SLB's 64 KiB")
	p("  [ ] send INIT to every other CPU and relinquish TPM locality 0 (%s): SKINIT streams the SKL's first %#x bytes to the TPM at locality 4", tpmLine(st.Status), measured)
	p("  [ ] on the boot CPU in ring 0 with SVM enabled (EFER.SVME): SKINIT with EAX = the SLB's physical address")
}
