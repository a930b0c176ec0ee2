package slaunch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/slkit/slkit/tpm"
)

// The emulated DCE: a deterministic 64 KiB SLB that slkit builds itself,
// shaped like an AMD SLB holding a Secure Kernel Loader (AMD APM Vol. 2
// §15.27.5; secure-kernel-loader head.S @0a372c7, main.c), which passes
// ParseSKL's checks. It never runs: on the rig the host runs the _TPM_Hash
// sequence over its measured part, which is what SKINIT does on hardware.
//
//	SLB offset  bytes                         field
//	0x0000      40 00                         SL header: entry point offset 0x40
//	0x0002      00 01                         SL header: measured length 0x100
//	0x0004      08 00                         SL header: skl_info offset 0x08
//	0x0006      00 10                         SL header: bootloader_data offset 0x1000
//	0x0008      78 f1 26 8e 04 92 11 e9       skl_info.uuid (SKLUUID)
//	            83 2a c8 5b 76 c4 cc 02
//	0x0018      00 00 00 00                   skl_info.version 0
//	0x0020      "slkit emulated DCE v1", NUL-padded to 0x40
//	0x0040      0f 0b f4 eb fd                ud2; hlt; jmp .-1 (never executed)
//	0x0045      zero up to the measured length 0x100, then up to 0x1000 (the image)
//	0x1000      the SLRT, max_size 0xF000 (GRUB skl.c: SLB size − bootloader_data)
//	            zero up to 0x10000
//
// The launch is laid out at fixed emulated physical addresses, so that the
// SLRT and the log are the same bytes on every run.
const (
	EmuSLBBase        = 0x70000000 // 64 KiB aligned, below 4 GiB
	EmuLogBase        = 0x70010000 // right after the SLB: outside it, as SKL requires
	EmuLogSize        = 0x10000
	EmuBootParams     = 0x70020000
	EmuCmdlineBase    = 0x70021000
	EmuDLMEBase       = 0x01000000 // the kernel image, at 16 MiB
	EmuInitrdBase     = 0x71000000
	emuEntry          = 0x40
	emuMeasured       = 0x100
	emuInfo           = 0x08
	emuBootloaderData = 0x1000
	emuImageSize      = 0x1000
	emuTag            = "slkit emulated DCE v1"
)

// EmulatedSKL returns the emulated DCE image (the first 0x1000 bytes of the
// SLB), built field by field as laid out above.
func EmulatedSKL() []byte {
	b := make([]byte, emuImageSize)
	put16(b, 0, emuEntry)
	put16(b, 2, emuMeasured)
	put16(b, 4, emuInfo)
	put16(b, 6, emuBootloaderData)
	copy(b[emuInfo:], SKLUUID[:])
	put32(b, emuInfo+16, sklVersion)
	copy(b[0x20:0x40], emuTag)
	copy(b[emuEntry:], []byte{0x0f, 0x0b, 0xf4, 0xeb, 0xfd})
	return b
}

// Images are what a launch boots: the kernel, the initrd and the command
// line.
type Images struct {
	// Kernel is the bzImage. The emulated DLME is the whole file (the same
	// bytes launch's measured profile hashes).
	Kernel     io.ReaderAt
	KernelSize int64
	// Initrd is optional (nil, InitrdSize 0).
	Initrd     io.Reader
	InitrdSize int64
	// Cmdline is the kernel command line: UTF-8, no NUL, measured exactly.
	Cmdline string
	// KernelDigests and InitrdDigests, when they hold every bank staged,
	// are the digests of the whole kernel and initrd files that the caller
	// already computed from the same bytes (launch measured them into PCR
	// 9 and checked them against the policy): StageEmulated then does not
	// read the images a second time to hash them. The caller vouches that
	// they are the digests of Kernel and Initrd; a bank they lack is
	// hashed from the image.
	KernelDigests, InitrdDigests tpm.Digests
}

// EmulatedStage is everything the emulated backend stages.
type EmulatedStage struct {
	// SLB is the 64 KiB Secure Loader Block: the emulated SKL and the SLRT.
	SLB []byte
	// SKL is the parsed emulated DCE (it passes ParseSKL).
	SKL *SKL
	// DCEBlob is SLB[0:measured_size]: the bytes the rig host feeds to the
	// _TPM_Hash sequence (swtpm control channel HASH_START/DATA/END).
	DCEBlob []byte
	// SLRT is the table at SLB+bootloader_data_offset.
	SLRT *SLRT
	// DLMEEntry is the entry offset measured into PCR17.
	DLMEEntry uint32
	// MLE is the kernel's MLE header, nil for a kernel without one.
	MLE *MLEHeader
	// Prediction is PCR17/18 in every bank and the events.
	Prediction *Prediction
	// LogPrefix is the DRTM log as the DCE hands it over: the Spec ID
	// header and the TPM's and the DCE's events.
	LogPrefix *DRTMLog
}

// StageEmulated builds the emulated launch of a kernel for the given banks
// (every active bank of the TPM). DLME entry: the bzImage's 64-bit entry
// (protected-mode code + 0x200) or, for a Secure Launch kernel, its MLE
// entry point, as a file offset (the DLME is the whole file).
func StageEmulated(in Images, banks []tpm.Alg) (*EmulatedStage, error) {
	if !utf8.ValidString(in.Cmdline) || bytes.IndexByte([]byte(in.Cmdline), 0) >= 0 {
		return nil, fmt.Errorf("%w: the command line must be UTF-8 without NUL", ErrPredict)
	}
	bz, err := ParseBzImage(in.Kernel, in.KernelSize)
	if err != nil {
		return nil, err
	}
	st := &EmulatedStage{}
	mle, _, err := FindMLEHeader(in.Kernel, in.KernelSize)
	switch {
	case err == nil:
		st.MLE = mle
	case !errors.Is(err, ErrNoMLEHeader):
		return nil, err
	}
	entry := bz.Entry64()
	if st.MLE != nil {
		entry = bz.SetupSize + int64(st.MLE.EntryPoint)
	}
	if entry >= in.KernelSize {
		return nil, formatErr("kernel", bzXLoadFlags, "entry point %#x lies past the %d-byte image", entry, in.KernelSize)
	}
	st.DLMEEntry = uint32(entry)
	if in.KernelSize > 0xFFFFFFFF-EmuDLMEBase || in.InitrdSize > 0xFFFFFFFF-EmuInitrdBase || (in.Initrd == nil) != (in.InitrdSize == 0) {
		return nil, fmt.Errorf("%w: kernel (%d bytes) and initrd (%d bytes) must fit below 4 GiB in the emulated layout", ErrPredict, in.KernelSize, in.InitrdSize)
	}
	if st.SLRT, err = emulatedSLRT(st, in); err != nil {
		return nil, err
	}
	slrt, err := st.SLRT.MarshalBinary()
	if err != nil {
		return nil, err
	}
	st.SLB = make([]byte, SLBSize)
	copy(st.SLB, EmulatedSKL())
	copy(st.SLB[emuBootloaderData:], slrt)
	if st.SKL, err = ParseSKL(st.SLB[:emuImageSize]); err != nil {
		return nil, fmt.Errorf("emulated DCE fails its own checks: %w", err)
	}
	st.DCEBlob = st.SKL.Measured()
	ms := []measurement{
		{pcr: PCRDCE, desc: DescDLMEEntry, by: ActorDCE, data: bytes.NewReader(le32(st.DLMEEntry))},
		{pcr: PCRDCE, desc: DescDLME, by: ActorDCE, data: io.NewSectionReader(in.Kernel, 0, in.KernelSize), digests: in.KernelDigests},
	}
	pol, err := policyMeasurements(st.SLRT, []byte(in.Cmdline), in.Initrd)
	if err != nil {
		return nil, err
	}
	for i := range pol {
		if pol[i].entity == EntityRamdisk {
			pol[i].digests = in.InitrdDigests
		}
	}
	if st.Prediction, err = predictDRTM(banks, banks, st.DCEBlob, append(ms, pol...)); err != nil {
		return nil, err
	}
	if st.LogPrefix, err = st.Prediction.LogPrefix(EmuLogBase, EmuLogSize); err != nil {
		return nil, err
	}
	return st, nil
}

// emulatedSLRT is the SLRT of the emulated launch (arch SKINIT) at its
// fixed addresses: DL_INFO, LOG_INFO, the profile's ENTRY_POLICY, AMD_INFO.
func emulatedSLRT(st *EmulatedStage, in Images) (*SLRT, error) {
	var hdrOff uint64
	if st.MLE != nil {
		hdrOff = uint64(st.MLE.FileOffset)
	}
	pol, err := profilePolicy(len(in.Cmdline), in.InitrdSize, in.Initrd != nil)
	if err != nil {
		return nil, err
	}
	return &SLRT{Arch: ArchSKINIT, MaxSize: emuSLRTMax, Entries: []SLREntry{
		DLInfo{DCESize: emuImageSize, DCEBase: EmuSLBBase, DLMESize: uint64(in.KernelSize), DLMEBase: EmuDLMEBase,
			DLMEEntry: uint64(st.DLMEEntry), DLMEHeaderOffset: hdrOff, Bootloader: BootloaderGRUB, BootloaderContext: EmuBootParams},
		emuLogInfo(), pol, emuAMDInfo(),
	}}, nil
}

// emuSLRTBase and emuSLRTMax place the SLRT at SLB+bootloader_data_offset,
// with the rest of the SLB as max_size (GRUB skl.c grub_skl_setup_module).
const (
	emuSLRTBase = EmuSLBBase + emuBootloaderData
	emuSLRTMax  = SLBSize - emuBootloaderData
)

func emuLogInfo() LogInfo { return LogInfo{Format: LogFormatTPM20, Size: EmuLogSize, Addr: EmuLogBase} }

// emuAMDInfo is AMD_INFO as GRUB fills it (skl.c
// grub_skl_prepare_bootloader_data): setup_data type 10, len = the entry's
// size, the SLRT's size and base, boot_params' base.
func emuAMDInfo() AMDInfo {
	return AMDInfo{Type: SetupSecureLaunch, Len: amdInfoSize, SLRTSize: emuSLRTMax, SLRTBase: emuSLRTBase, BootParamsBase: EmuBootParams}
}

// profilePolicy is the ENTRY_POLICY of slkit's DRTM profile, in GRUB's
// order (slrt.c grub_setup_slrt_policy) but all at PCR18: the SLRT
// (IMPLICIT_SIZE), the command line, the initrd when there is one.
func profilePolicy(cmdlineLen int, initrdSize int64, hasInitrd bool) (EntryPolicy, error) {
	pol := EntryPolicy{Revision: SLRPolicyRevision}
	for _, e := range []struct {
		et, flags    uint16
		entity, size uint64
		desc         string
	}{
		{EntitySLRT, PolicyFlagImplicitSize, emuSLRTBase, 0, DescSLRT},
		{EntityCmdline, 0, EmuCmdlineBase, uint64(cmdlineLen), DescCmdline},
		{EntityRamdisk, 0, EmuInitrdBase, uint64(initrdSize), DescInitrd},
	} {
		if e.et == EntityRamdisk && !hasInitrd {
			continue
		}
		pe, err := NewPolicyEntry(PCRPolicy, e.et, e.flags, e.entity, e.size, e.desc)
		if err != nil {
			return pol, err
		}
		pol.Entries = append(pol.Entries, pe)
	}
	return pol, nil
}
