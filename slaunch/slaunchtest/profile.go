package slaunchtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
)

// EmulatedDCEBlob is the measured part of slkit's emulated DCE, SLB[0:0x100],
// written byte by byte from the table in slaunch/README.md ("The emulated
// DCE"), not by package slaunch.
func EmulatedDCEBlob() []byte {
	b := make([]byte, 0x100)
	copy(b[0x00:], []byte{0x40, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x10}) // entry, measured, skl_info, bootloader_data
	copy(b[0x08:], []byte{0x78, 0xf1, 0x26, 0x8e, 0x04, 0x92, 0x11, 0xe9, 0x83, 0x2a, 0xc8, 0x5b, 0x76, 0xc4, 0xcc, 0x02})
	// 0x18: skl_info version 0 (already zero)
	copy(b[0x20:], "slkit emulated DCE v1")
	copy(b[0x40:], []byte{0x0f, 0x0b, 0xf4, 0xeb, 0xfd}) // ud2; hlt; jmp .-1
	return b
}

// EmulatedMeasuredAMDInfo is the SLRT entity the DLME measures first into
// PCR18: the AMD_INFO entry (tag 5, 56 bytes) with next, slrt_base and
// boot_params_base zeroed, as slaunch/README.md lays it out.
func EmulatedMeasuredAMDInfo() []byte {
	b := make([]byte, 56)
	binary.LittleEndian.PutUint32(b[0:], 5)       // tag AMD_INFO
	binary.LittleEndian.PutUint32(b[4:], 56)      // size
	binary.LittleEndian.PutUint32(b[16:], 10)     // setup_data.type SETUP_SECURE_LAUNCH
	binary.LittleEndian.PutUint32(b[20:], 56)     // setup_data.len
	binary.LittleEndian.PutUint64(b[24:], 0xF000) // slrt_size
	return b
}

// EmulatedPCRs computes PCR17 and PCR18 after slkit's emulated dynamic
// launch in one bank ("sha1", "sha256", "sha384" or "sha512"), with the
// standard library's hashes, from the profile table in slaunch/README.md:
//
//	PCR17 = E(E(E(0, H(DCE blob)), H(le32 dlme_entry)), H(kernel))
//	PCR18 = E(E(E(0, H(AMD_INFO)), H(cmdline)), H(initrd))   (no initrd: two events)
//
// where E(p, d) = H(p ‖ d).
func EmulatedPCRs(bank string, dlmeEntry uint32, kernel []byte, cmdline string, initrd []byte) (pcr17, pcr18 []byte, err error) {
	var newHash func() hash.Hash
	switch bank {
	case "sha1":
		newHash = sha1.New
	case "sha256":
		newHash = sha256.New
	case "sha384":
		newHash = sha512.New384
	case "sha512":
		newHash = sha512.New
	default:
		return nil, nil, fmt.Errorf("slaunchtest: no hash for bank %q", bank)
	}
	chain := func(ms ...[]byte) []byte {
		p := make([]byte, newHash().Size())
		for _, m := range ms {
			d := newHash()
			d.Write(m)
			e := newHash()
			e.Write(p)
			e.Write(d.Sum(nil))
			p = e.Sum(nil)
		}
		return p
	}
	entry := binary.LittleEndian.AppendUint32(nil, dlmeEntry)
	policy := [][]byte{EmulatedMeasuredAMDInfo(), []byte(cmdline)}
	if initrd != nil {
		policy = append(policy, initrd)
	}
	return chain(EmulatedDCEBlob(), entry, kernel), chain(policy...), nil
}

// PlainKernelEntry is the DLME entry of the emulated profile for a kernel
// that Kernel built without an MLE header: the 64-bit boot entry,
// (setup_sects+1)*512 + 0x200.
const PlainKernelEntry = KernelSetupSize + 0x200

// EmulatedBanks are the banks EmulatedPCRs computes (swtpm's default).
var EmulatedBanks = []string{"sha1", "sha256", "sha384", "sha512"}

// DLMEEntry is the emulated profile's entry offset of a bzImage without an
// MLE header: (setup_sects+1)*512 + 0x200, setup_sects at 0x1F1 (0 means
// 4; Linux boot protocol, "The real-mode kernel header").
func DLMEEntry(kernel []byte) uint32 {
	s := uint32(kernel[0x1F1])
	if s == 0 {
		s = 4
	}
	return (s+1)*512 + 0x200
}
