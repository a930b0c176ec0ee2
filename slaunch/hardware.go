package slaunch

import (
	"fmt"
	"strings"

	"github.com/slkit/slkit/tpm"
)

// MSRs the TXT SLRT's INTEL_INFO records (Intel SDM Vol. 4 Table 2-2;
// Linux v16 sl_txt_validate_msrs compares them after the launch).
const (
	msrMTRRCap     = 0xFE
	msrMTRRDefType = 0x2FF
	msrMTRRBase0   = 0x200 // IA32_MTRR_PHYSBASEn = 0x200+2n, PHYSMASKn = 0x201+2n
	msrMiscEnable  = 0x1A0
)

// HardwareInput is what the hardware backend stages.
type HardwareInput struct {
	Platform Platform
	Images
	// DCE is the SINIT ACM (Intel TXT) or the SKL (AMD SKINIT).
	DCE []byte
	// Banks are the TPM's active banks, for the SKINIT prediction
	// (default SKLBanks).
	Banks []tpm.Alg
}

// HardwareStage is what the hardware backend staged and validated. Its
// addresses are those of the emulated layout: a userland process cannot
// reserve the physical memory a launch needs; the ring-0 stub would.
type HardwareStage struct {
	Arch   Arch
	Status *Status
	// Kernel is how the kernel supports Secure Launch (v15 or v16).
	Kernel *SecureLaunchKernel
	// MLE is the static MLE header (v15 kernels; nil for v16).
	MLE  *MLEHeader
	ACM  *ACM // Intel
	SKL  *SKL // AMD
	SLRT *SLRT
	// OsSinitData is the TXT heap table (Intel).
	OsSinitData *OsSinitData
	// Prediction is PCR17/18 (AMD; Intel PCRs come from the ACM's log, see
	// PredictTXT).
	Prediction *Prediction

	// staged lists what was staged and validated, for the refusal and the
	// checklist.
	staged []string
}

// StageHardware probes the platform, parses and validates the DCE against
// it and the kernel's MLE header, builds the SLRT (and for TXT the
// OsSinitData), predicts what it can, and then refuses: executing
// GETSEC[SENTER] or SKINIT needs a ring-0 dynamic-launch stub, which slkit
// does not have. The error is then a *HardwareRefusal (ErrNeedsDLStub),
// returned with the stage; a platform that is not capable gives
// ErrNotCapable with the probe's reasons, a DCE that does not fit gives
// ErrPlatformMismatch or ErrMalformed, a kernel without Secure Launch
// support ErrNoMLEHeader. A Secure Launch v16 kernel is accepted without a
// static MLE header: the DCE is matched with the header's fixed version
// and capabilities, and what needs the header's run-time offset (the
// SLRT, OsSinitData, the SKINIT prediction) is left to the loader.
func StageHardware(in HardwareInput) (*HardwareStage, error) {
	st := &HardwareStage{Status: Probe(in.Platform)}
	switch {
	case st.Status.Ready(ArchTXT):
		st.Arch = ArchTXT
	case st.Status.Ready(ArchSKINIT):
		st.Arch = ArchSKINIT
	default:
		return st, fmt.Errorf("%w: Intel TXT %s (%s); AMD SKINIT %s (%s)", ErrNotCapable,
			st.Status.TXT.Verdict, strings.Join(st.Status.TXT.Reasons, "; "),
			st.Status.SKINIT.Verdict, strings.Join(st.Status.SKINIT.Reasons, "; "))
	}
	k, err := DetectSecureLaunch(in.Kernel, in.KernelSize)
	if err != nil {
		return st, err
	}
	st.Kernel, st.MLE = k, k.MLE
	st.staged = []string{"platform probe: " + st.Arch.String() + " ready"}
	if k.MLE != nil {
		st.staged = append(st.staged, fmt.Sprintf("kernel MLE header (version %#x, capabilities %#x)", k.MLE.Version, k.MLE.Capabilities))
	} else {
		st.staged = append(st.staged, "kernel: Secure Launch v16, no static MLE header: the SLRT, OsSinitData and PCR prediction need its offset, entry and end, which the kernel reports at run time (setup_dlme or dl_launch): the loader builds them then")
	}
	if st.Arch == ArchTXT {
		err = st.stageTXT(in, &st.staged)
	} else {
		err = st.stageSKINIT(in, &st.staged)
	}
	if err != nil {
		return st, err
	}
	return st, &HardwareRefusal{Arch: st.Arch.String(), Staged: st.staged}
}

func (st *HardwareStage) stageTXT(in HardwareInput, staged *[]string) error {
	acm, err := ParseACM(in.DCE)
	if err != nil {
		return err
	}
	ids, err := ReadPlatformIDs(in.Platform)
	if err != nil {
		return fmt.Errorf("read the platform IDs for ACM matching: %w", err)
	}
	if err := acm.MatchPlatform(ids); err != nil {
		return err
	}
	mle := st.MLE
	if mle == nil {
		// A v16 header's version and capabilities are fixed (sl_stub.S):
		// enough to match the ACM's capabilities before the launch.
		mle = &MLEHeader{Version: v16MLEVersion, Capabilities: v16MLECapabilities}
	}
	caps, err := acm.MatchMLE(mle, st.Status.TPM.VersionMajor == 2)
	if err != nil {
		return err
	}
	st.ACM = acm
	*staged = append(*staged, fmt.Sprintf("SINIT ACM (date %#x) matches the chipset, the processor and the MLE", acm.Date))
	if st.MLE == nil {
		return nil
	}
	info, err := readIntelInfo(in.Platform)
	if err != nil {
		return err
	}
	info.BootParamsAddr = EmuBootParams
	st.SLRT, err = launchSLRT(*info, st.MLE, in)
	if err != nil {
		return err
	}
	// MLEHeaderBase is the header's linear address in the MLE, i.e. its
	// offset from the MLE base (GRUB txt.c init_txt_heap: mle_hdr_base =
	// mle_header_offset; tboot txt.c). MLEPageTable stays 0: the MLE page
	// tables are built by the ring-0 stub, which is where this stage stops.
	st.OsSinitData = &OsSinitData{
		MLESize: uint64(st.MLE.End), MLEHeaderBase: uint64(st.MLE.OffsetInPM),
		PMRLowSize: 0x80000000, Capabilities: caps,
		Log: LogPointer21{Addr: EmuLogBase, AllocatedSize: EmuLogSize},
	}
	if _, err := st.OsSinitData.MarshalBinary(); err != nil {
		return err
	}
	*staged = append(*staged, "SLRT (DL_INFO, LOG_INFO, ENTRY_POLICY, INTEL_INFO)", "OsSinitData v7 with LOG_POINTER2_1")
	return nil
}

func (st *HardwareStage) stageSKINIT(in HardwareInput, staged *[]string) error {
	skl, err := ParseSKL(in.DCE)
	if err != nil {
		return err
	}
	st.SKL = skl
	if st.MLE == nil {
		*staged = append(*staged, fmt.Sprintf("SKL (%s header, measured %#x bytes)", skl.Layout, skl.MeasuredSize))
		return nil
	}
	entry, dlme, _, err := LinuxDLME(in.Kernel, in.KernelSize)
	if err != nil {
		return err
	}
	st.SLRT, err = launchSLRT(emuAMDInfo(), st.MLE, in)
	if err != nil {
		return err
	}
	banks := in.Banks
	if banks == nil {
		banks = SKLBanks
	}
	st.Prediction, err = PredictSKINIT(SKINITInput{SKL: skl, DLMEEntry: entry, DLME: dlme, SLRT: st.SLRT,
		Cmdline: in.Cmdline, Initrd: in.Initrd}, banks)
	if err != nil {
		return err
	}
	*staged = append(*staged, fmt.Sprintf("SKL (%s header, measured %#x bytes)", skl.Layout, skl.MeasuredSize),
		"SLRT (DL_INFO, LOG_INFO, ENTRY_POLICY, AMD_INFO)", "PCR17/18 prediction")
	return nil
}

// launchSLRT builds the SLRT of a hardware launch of a Secure Launch
// kernel: DLME = the protected-mode code up to the MLE end, entry = the MLE
// entry point (GRUB slrt.c grub_setup_slrt_dl_info), the profile's policy,
// and the architecture's info entry.
func launchSLRT(info SLREntry, mle *MLEHeader, in HardwareInput) (*SLRT, error) {
	pol, err := profilePolicy(len(in.Cmdline), in.InitrdSize, in.Initrd != nil)
	if err != nil {
		return nil, err
	}
	arch := ArchSKINIT
	if info.Tag() == TagIntelInfo {
		arch = ArchTXT
	}
	t := &SLRT{Arch: arch, MaxSize: emuSLRTMax, Entries: []SLREntry{
		DLInfo{DCEBase: EmuSLBBase, DCESize: emuImageSize, DLMEBase: EmuDLMEBase, DLMESize: uint64(mle.End),
			DLMEEntry: uint64(mle.EntryPoint), DLMEHeaderOffset: uint64(mle.OffsetInPM), Bootloader: BootloaderGRUB,
			BootloaderContext: EmuBootParams},
		emuLogInfo(), pol, info,
	}}
	if _, err := t.MarshalBinary(); err != nil {
		return nil, err
	}
	return t, nil
}

// readIntelInfo reads what INTEL_INFO records: IA32_MISC_ENABLE and the
// BSP's MTRRs (MTRRcap VCNT, MTRRdefType, each variable pair).
func readIntelInfo(p Platform) (*IntelInfo, error) {
	x := &IntelInfo{}
	read := func(msr uint32) (uint64, error) {
		v, err := p.ReadMSR(0, msr)
		if err != nil {
			return 0, fmt.Errorf("read the MSRs INTEL_INFO records: %w", err)
		}
		return v, nil
	}
	mtrrCap, err := read(msrMTRRCap)
	if err != nil {
		return nil, err
	}
	x.MTRRVCnt = mtrrCap & 0xFF
	if x.MTRRVCnt > mtrrPairs {
		return nil, fmt.Errorf("MTRRcap reports %d variable MTRRs, INTEL_INFO holds %d", x.MTRRVCnt, mtrrPairs)
	}
	if x.MTRRDefType, err = read(msrMTRRDefType); err != nil {
		return nil, err
	}
	for i := uint32(0); i < uint32(x.MTRRVCnt); i++ {
		if x.MTRRs[i].Base, err = read(msrMTRRBase0 + 2*i); err != nil {
			return nil, err
		}
		if x.MTRRs[i].Mask, err = read(msrMTRRBase0 + 2*i + 1); err != nil {
			return nil, err
		}
	}
	if x.MiscEnableMSR, err = read(msrMiscEnable); err != nil {
		return nil, err
	}
	return x, nil
}
