package slaunchtest

import (
	"crypto"
	_ "crypto/sha1" // the banks EmulatedPCRs computes
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/binary"
)

// The emulated DRTM profile, computed for tests independently of package
// slaunch: from the tables of slaunch/README.md ("The emulated DCE", "The
// DRTM measurement profile") with the standard library only.

// EmulatedDCEBlob is SLB[0:0x100] of the emulated DCE, byte by byte from
// the README's SLB table: the bytes the TPM's _TPM_Hash sequence measures.
func EmulatedDCEBlob() []byte {
	b := make([]byte, 0x100)
	copy(b, []byte{0x40, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x10}) // entry 0x40, measured 0x100, info 0x08, bootloader data 0x1000
	copy(b[0x08:], []byte{0x78, 0xf1, 0x26, 0x8e, 0x04, 0x92, 0x11, 0xe9, 0x83, 0x2a, 0xc8, 0x5b, 0x76, 0xc4, 0xcc, 0x02})
	copy(b[0x20:], "slkit emulated DCE v1")
	copy(b[0x40:], []byte{0x0f, 0x0b, 0xf4, 0xeb, 0xfd})
	return b
}

// EmulatedAMDInfoMeasured is the SLRT entity the DLME measures: AMD_INFO
// with its entry header, next, slrt_base and boot_params_base zeroed.
func EmulatedAMDInfoMeasured() []byte {
	b := make([]byte, 56)
	le := binary.LittleEndian
	le.PutUint32(b[0:], 5)       // tag AMD_INFO
	le.PutUint32(b[4:], 56)      // size
	le.PutUint32(b[16:], 10)     // setup_data.type SETUP_SECURE_LAUNCH
	le.PutUint32(b[20:], 56)     // setup_data.len
	le.PutUint64(b[24:], 0xF000) // slrt_size
	return b
}

// DLMEEntry is the emulated profile's entry offset of a bzImage without an
// MLE header: (setup_sects+1)*512 + 0x200, setup_sects at 0x1F1 (0 means 4).
func DLMEEntry(kernel []byte) uint32 {
	s := uint32(kernel[0x1F1])
	if s == 0 {
		s = 4
	}
	return (s+1)*512 + 0x200
}

// Extend is one PCR extend in bank h: H(old ‖ H(data)).
func Extend(h crypto.Hash, old, data []byte) []byte {
	d := h.New()
	d.Write(data)
	e := h.New()
	e.Write(old)
	e.Write(d.Sum(nil))
	return e.Sum(nil)
}

// EmulatedBanks are the banks EmulatedPCRs computes (swtpm's default).
var EmulatedBanks = []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// EmulatedPCRs are PCR 17 and 18 in bank h after the emulated dynamic
// launch of kernel (a bzImage without an MLE header), initrd (nil: none)
// and cmdline: both start at zero (_TPM_Hash_End resets them), PCR 17 =
// E(E(E(0, DCE blob), le32 entry), kernel), PCR 18 = E(E(E(0, AMD_INFO),
// cmdline), initrd).
func EmulatedPCRs(h crypto.Hash, kernel, initrd []byte, cmdline string) (pcr17, pcr18 []byte) {
	zero := make([]byte, h.Size())
	entry := binary.LittleEndian.AppendUint32(nil, DLMEEntry(kernel))
	pcr17 = Extend(h, Extend(h, Extend(h, zero, EmulatedDCEBlob()), entry), kernel)
	pcr18 = Extend(h, Extend(h, zero, EmulatedAMDInfoMeasured()), []byte(cmdline))
	if initrd != nil {
		pcr18 = Extend(h, pcr18, initrd)
	}
	return pcr17, pcr18
}
