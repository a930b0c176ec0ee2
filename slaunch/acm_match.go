package slaunch

import (
	"fmt"
	"strings"
)

// MLE/SINIT capability bits (TXT SDG Chapter 2, Table 2 "MLE/SINIT
// Capabilities Field Bit Definitions", as GRUB txt.h cites it;
// GRUB include/grub/i386/txt.h GRUB_TXT_CAPS_*).
const (
	CapGETSECWake  = 1 << 0 // RLP wakeup with GETSEC[WAKEUP]
	CapMONITORWake = 1 << 1 // RLP wakeup with MONITOR/MWAIT
	CapECXPageTab  = 1 << 2 // ECX holds the MLE page table base
	CapTPM2Log     = 1 << 9 // TCG-format TPM 2.0 event log (LOG_POINTER2_1)
)

// minOsSinitDataTPM2 is the OsSinitData version needed for a TPM 2.0 launch
// (SDG Appendix C.4: version 7 adds the PCR extend policy flags).
const minOsSinitDataTPM2 = 7

// PlatformIDs are the platform facts a SINIT ACM is matched against.
type PlatformIDs struct {
	// FMS is CPUID.1:EAX (family, model, stepping).
	FMS uint32 `json:"fms"`
	// PlatformID is IA32_PLATFORM_ID (MSR 0x17).
	PlatformID uint64 `json:"platform_id"`
	// DIDVID is TXT.DIDVID (VID 15:0, DID 31:16, RID 47:32).
	DIDVID uint64 `json:"didvid"`
	// Ver is TXT.VER.FSBIF, or TXT.VER.QPIIF when that reads all ones or
	// zero; bit 31 set means production-fused.
	Ver uint64 `json:"ver"`
}

// ReadPlatformIDs reads the facts ACM matching needs through p.
func ReadPlatformIDs(p Platform) (PlatformIDs, error) {
	var ids PlatformIDs
	c, err := p.CPUID(cpuidFeatureLeaf, 0)
	if err != nil {
		return ids, err
	}
	ids.FMS = c.EAX
	if ids.PlatformID, err = p.ReadMSR(0, msrPlatformID); err != nil {
		return ids, err
	}
	regs, err := readTXTRegisters(p)
	if err != nil {
		return ids, err
	}
	ids.DIDVID, ids.Ver = uint64(regs.DIDVID), uint64(regs.Ver)
	return ids, nil
}

// MatchPlatform applies GRUB's grub_txt_acmod_match_platform
// (loader/slaunch/acmod.c) to the platform facts:
//
//   - a debug-signed ACM does not run on a production-fused chipset;
//   - a chipset ID entry matches DIDVID: same vendor and device, and the
//     same revision, or (Flags bit 0) a revision mask with a bit in common;
//   - when the info table has a processor list (version 4, Length >= 44),
//     a processor ID entry matches:
//     FMS == CPUID.1:EAX & FMSMask and PlatformID == MSR 0x17 & PlatformMask.
//
// The error wraps ErrPlatformMismatch and says which rule failed.
func (a *ACM) MatchPlatform(ids PlatformIDs) error {
	if !a.IsSINIT() {
		return fmt.Errorf("%w: not a SINIT ACM (ChipsetACMType %d, ModuleSubType %d)", ErrPlatformMismatch, a.Info.ChipsetACMType, a.ModuleSubType)
	}
	if ids.Ver&verProdFused != 0 && a.DebugSigned() {
		return fmt.Errorf("%w: the ACM is debug-signed but the chipset is production-fused", ErrPlatformMismatch)
	}
	vid, did, rid := uint16(ids.DIDVID), uint16(ids.DIDVID>>16), uint16(ids.DIDVID>>32)
	matched := false
	var listed []string
	for _, c := range a.Chipsets {
		listed = append(listed, c.String())
		if c.VendorID != vid || c.DeviceID != did {
			continue
		}
		if c.Flags&acmChipsetRevisionMask == 0 && c.RevisionID == rid ||
			c.Flags&acmChipsetRevisionMask != 0 && c.RevisionID&rid != 0 {
			matched = true
			break
		}
	}
	if !matched {
		return fmt.Errorf("%w: chipset %04x:%04x rev %#x (TXT.DIDVID) is not in the ACM's chipset list [%s]",
			ErrPlatformMismatch, vid, did, rid, strings.Join(listed, ", "))
	}
	if !a.hasProcessorList() {
		return nil
	}
	for _, p := range a.Processors {
		if p.FMS == ids.FMS&p.FMSMask && p.PlatformID == ids.PlatformID&p.PlatformMask {
			return nil
		}
	}
	return fmt.Errorf("%w: processor (CPUID.1:EAX %#x, IA32_PLATFORM_ID %#x) is not in the ACM's %d-entry processor list",
		ErrPlatformMismatch, ids.FMS, ids.PlatformID, len(a.Processors))
}

func (c ChipsetID) String() string {
	s := fmt.Sprintf("%04x:%04x rev %#x", c.VendorID, c.DeviceID, c.RevisionID)
	if c.Flags&acmChipsetRevisionMask != 0 {
		s = fmt.Sprintf("%04x:%04x rev mask %#x", c.VendorID, c.DeviceID, c.RevisionID)
	}
	return s
}

// MatchMLE intersects the ACM's capabilities with the MLE header's and
// returns the capabilities to put in OsSinitData, as GRUB's
// grub_txt_init_tpm_evtlog/heap setup does (loader/slaunch/txt.c):
//
//   - RLP wakeup: GETSEC[WAKEUP] if both support it, else MONITOR if both
//     do, else the launch cannot wake the other CPUs;
//   - the ECX page-table convention when both support it;
//   - for a TPM 2.0: the ACM must take OsSinitData version 7 and both must
//     support the TCG TPM 2.0 log (bit 9), and an ACM with a TPM info list
//     must list a TPM 2.0 family;
//   - the MLE header version must be at least the ACM's MinMleHeaderVer.
func (a *ACM) MatchMLE(h *MLEHeader, tpm2 bool) (uint32, error) {
	if h.Version < a.Info.MinMLEHeaderVer {
		return 0, fmt.Errorf("%w: MLE header version %#x is older than the ACM's minimum %#x", ErrPlatformMismatch, h.Version, a.Info.MinMLEHeaderVer)
	}
	sinit := uint32(0)
	if a.hasCapabilities() {
		sinit = a.Info.Capabilities
	}
	common := sinit & h.Capabilities
	var caps uint32
	switch {
	case common&CapGETSECWake != 0:
		caps = CapGETSECWake
	case common&CapMONITORWake != 0:
		caps = CapMONITORWake
	default:
		return 0, fmt.Errorf("%w: no common RLP wakeup mechanism (ACM capabilities %#x, MLE %#x)", ErrPlatformMismatch, sinit, h.Capabilities)
	}
	caps |= common & CapECXPageTab
	if tpm2 {
		switch {
		case a.Info.OsSinitDataVer < minOsSinitDataTPM2:
			return 0, fmt.Errorf("%w: the ACM takes OsSinitData version %d, a TPM 2.0 launch needs %d", ErrPlatformMismatch, a.Info.OsSinitDataVer, minOsSinitDataTPM2)
		case sinit&CapTPM2Log == 0:
			return 0, fmt.Errorf("%w: the ACM does not support the TCG TPM 2.0 event log (capability bit 9)", ErrPlatformMismatch)
		case h.Capabilities&CapTPM2Log == 0:
			return 0, fmt.Errorf("%w: the MLE does not support the TCG TPM 2.0 event log (capability bit 9)", ErrPlatformMismatch)
		case a.TPM != nil && !a.TPM.SupportsTPM2():
			return 0, fmt.Errorf("%w: the ACM's TPM info list has no TPM 2.0 family (capabilities %#x)", ErrPlatformMismatch, a.TPM.Capabilities)
		}
		caps |= CapTPM2Log
	}
	return caps, nil
}

// SelectSINIT picks the SINIT ACM to launch with as GRUB's
// grub_txt_sinit_select does: the one firmware placed in the SINIT region
// when it is at least as new (header Date) as the one provided, else the
// provided one. Either may be nil.
func SelectSINIT(firmware, provided *ACM) *ACM {
	if firmware != nil && (provided == nil || firmware.Date >= provided.Date) {
		return firmware
	}
	return provided
}
