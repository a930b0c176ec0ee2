// Package slaunchtest builds synthetic launch images for tests: a bzImage
// with or without a Secure Launch MLE header, an AMD Secure Kernel Loader
// and an Intel SINIT ACM. Every field is written at the offset its
// specification gives, independently of package slaunch's parsers.
package slaunchtest

import "encoding/binary"

var le = binary.LittleEndian

// KernelSetupSize is the size of the setup code of the kernels Kernel
// builds (one setup sector): the protected-mode code starts there.
const KernelSetupSize = 1024

// Kernel lays out a minimal bzImage (Linux Documentation/arch/x86/boot.rst):
// one setup sector, boot protocol version, XLF_KERNEL_64, kernel_info at
// protected-mode offset 0x100 with a fixed part of kiSize bytes and, when
// mleOff != 0, an MLE header at that protected-mode offset (TXT SDG Table
// 2-1, as TrenchBoot Linux fills it: entry 0x300, end 0x1800, caps 0x227).
// The image is KernelSetupSize + 0x2000 bytes.
func Kernel(version uint16, kiSize uint32, mleOff uint32) []byte {
	b := make([]byte, KernelSetupSize+0x2000)
	b[0x1F1] = 1                     // setup_sects
	le.PutUint16(b[0x1FE:], 0xAA55)  // boot_flag
	copy(b[0x202:], "HdrS")          // header
	le.PutUint16(b[0x206:], version) // version
	le.PutUint16(b[0x236:], 1)       // xloadflags: XLF_KERNEL_64
	le.PutUint32(b[0x268:], 0x100)   // kernel_info_offset
	ki := b[KernelSetupSize+0x100:]
	copy(ki, "LToP")                  // header
	le.PutUint32(ki[4:], kiSize)      // size
	le.PutUint32(ki[8:], kiSize)      // size_total
	le.PutUint32(ki[12:], 0x80000009) // setup_type_max
	if kiSize >= 0x14 {
		le.PutUint32(ki[16:], mleOff) // mle_header_offset
	}
	if mleOff != 0 {
		h := b[KernelSetupSize+int(mleOff):]
		le.PutUint32(h[0:], 0x9082ac5a)  // UUID0
		le.PutUint32(h[4:], 0x74a7476f)  // UUID1
		le.PutUint32(h[8:], 0xa2555c0f)  // UUID2
		le.PutUint32(h[12:], 0x42b651cb) // UUID3
		le.PutUint32(h[16:], 0x34)       // HeaderLen
		le.PutUint32(h[20:], 0x00020002) // Version 2.2
		le.PutUint32(h[24:], 0x300)      // EntryPoint (sl_stub_entry)
		le.PutUint32(h[28:], 0)          // FirstValidPage
		le.PutUint32(h[32:], 0)          // MleStart
		le.PutUint32(h[36:], 0x1800)     // MleEnd (_edata)
		le.PutUint32(h[40:], 0x227)      // Capabilities
		le.PutUint32(h[44:], 0)          // CmdlineStart
		le.PutUint32(h[48:], 0)          // CmdlineEnd
	}
	return b
}

// SKL lays out an SKL image (secure-kernel-loader head.S sl_header words,
// main.c skl_info): size bytes, the four header words, skl_info {UUID
// 78f1268e-0492-11e9-832a-c85b76c4cc02, version 0} at info, and a hlt at
// the entry point when it lies after the header.
func SKL(size int, entry, measured, info, data uint16) []byte {
	b := make([]byte, size)
	le.PutUint16(b[0:], entry)    // entry point offset
	le.PutUint16(b[2:], measured) // measured length
	le.PutUint16(b[4:], info)     // skl_info offset
	le.PutUint16(b[6:], data)     // bootloader_data offset
	copy(b[info:], []byte{0x78, 0xf1, 0x26, 0x8e, 0x04, 0x92, 0x11, 0xe9, 0x83, 0x2a, 0xc8, 0x5b, 0x76, 0xc4, 0xcc, 0x02})
	le.PutUint32(b[int(info)+16:], 0) // version
	if entry >= 8 {
		b[entry] = 0xf4 // hlt
	}
	return b
}

// ACMSpec describes a synthetic SINIT ACM.
type ACMSpec struct {
	Flags      uint16 // header Flags @14 (bit 15: debug signed)
	InfoVer    uint8  // info table Version
	Caps       uint32 // info table Capabilities
	OsSinitVer uint32
	MinMLE     uint32
	Date       uint32
	Chipsets   [][4]uint32 // {flags, vid, did, rid}
	Procs      [][4]uint64 // {fms, fmsMask, platformID, platformMask}
	TPMCaps    uint32
	TPMAlgs    []uint16
}

// Offsets of the ACM's parts.
const (
	ACMHeaderLen   = 161  // dwords, HeaderVersion 0.0
	ACMScratchSize = 143  // dwords
	ACMInfoOff     = 1216 // (161+143)*4
	ACMChipsetOff  = 1280
	ACMProcOff     = 1408
	ACMTPMOff      = 1536
	ACMSize        = 2048 // bytes: 512 dwords
)

// DefaultACM matches testdata/platforms/txt-ready.json (chipset 8086:3e10
// rev 1, CPUID.1:EAX 0x906ea, platform ID bits 52:50 = 1) and a TrenchBoot
// Linux MLE (GETSEC wakeup, ECX page table, TPM 2.0 log).
func DefaultACM() ACMSpec {
	return ACMSpec{
		InfoVer: 5, Caps: 1<<0 | 1<<1 | 1<<2 | 1<<9, OsSinitVer: 7, MinMLE: 0x00020000, Date: 0x20210315,
		Chipsets: [][4]uint32{
			{0, 0x8086, 0x3e10, 0x0001},
			{1, 0x8086, 0x3e0f, 0x0003}, // Flags bit 0: RevisionID is a mask
		},
		Procs:   [][4]uint64{{0x000906e0, 0x0fff3ff0, 0x0004000000000000, 0x001c000000000000}},
		TPMCaps: 2<<2 | 1, // family bits 5:2 = discrete TPM 2.0; extend policy: max agility
		TPMAlgs: []uint16{0x0004, 0x000b},
	}
}

// ACM lays the module out field by field from Intel TXT SDG Appendix A.1
// (Table A-1 header, then the Chipset AC Module Information Table at
// (HeaderLen+ScratchSize)*4 and its lists).
func ACM(a ACMSpec) []byte {
	b := make([]byte, ACMSize)
	le.PutUint16(b[0:], 2)                // ModuleType: chipset ACM
	le.PutUint16(b[2:], 0)                // ModuleSubType: TXT ACM
	le.PutUint32(b[4:], ACMHeaderLen)     // HeaderLen (dwords)
	le.PutUint32(b[8:], 0)                // HeaderVersion 0.0
	le.PutUint16(b[12:], 0xb001)          // ChipsetID
	le.PutUint16(b[14:], a.Flags)         // Flags
	le.PutUint32(b[16:], 0x8086)          // ModuleVendor
	le.PutUint32(b[20:], a.Date)          // Date (BCD)
	le.PutUint32(b[24:], ACMSize/4)       // Size (dwords)
	le.PutUint16(b[28:], 3)               // TxtSVN
	le.PutUint16(b[30:], 0)               // SeSVN
	le.PutUint32(b[52:], 0xa00)           // EntryPoint
	le.PutUint32(b[120:], 64)             // KeySize (dwords)
	le.PutUint32(b[124:], ACMScratchSize) // ScratchSize (dwords)
	i := b[ACMInfoOff:]
	copy(i[0:16], []byte{0xaa, 0x3a, 0xc0, 0x7f, 0xa7, 0x46, 0xdb, 0x18, 0x2e, 0xac, 0x69, 0x8f, 0x8d, 0x41, 0x7f, 0x5a}) // UUID
	i[16] = 1                                                                                                             // ChipsetACMType: SINIT
	i[17] = a.InfoVer                                                                                                     // Version
	le.PutUint16(i[18:], 48)                                                                                              // Length
	le.PutUint32(i[20:], ACMChipsetOff)                                                                                   // ChipsetIDList
	le.PutUint32(i[24:], a.OsSinitVer)                                                                                    // OsSinitDataVer
	le.PutUint32(i[28:], a.MinMLE)                                                                                        // MinMleHeaderVer
	le.PutUint32(i[32:], a.Caps)                                                                                          // Capabilities
	le.PutUint32(i[36:], 0x0a020100)                                                                                      // AcmVersionRevision
	le.PutUint32(i[40:], ACMProcOff)                                                                                      // ProcessorIDList
	le.PutUint32(i[44:], ACMTPMOff)                                                                                       // TPMInfoList
	c := b[ACMChipsetOff:]
	le.PutUint32(c, uint32(len(a.Chipsets))) // Count
	for n, e := range a.Chipsets {
		x := c[4+16*n:]
		le.PutUint32(x[0:], e[0])         // Flags
		le.PutUint16(x[4:], uint16(e[1])) // VendorID
		le.PutUint16(x[6:], uint16(e[2])) // DeviceID
		le.PutUint16(x[8:], uint16(e[3])) // RevisionID
		le.PutUint32(x[12:], 0)           // ExtendedID
	}
	p := b[ACMProcOff:]
	le.PutUint32(p, uint32(len(a.Procs))) // Count
	for n, e := range a.Procs {
		x := p[4+24*n:]
		le.PutUint32(x[0:], uint32(e[0])) // FMS
		le.PutUint32(x[4:], uint32(e[1])) // FMSMask
		le.PutUint64(x[8:], e[2])         // PlatformID
		le.PutUint64(x[16:], e[3])        // PlatformMask
	}
	t := b[ACMTPMOff:]
	le.PutUint32(t, a.TPMCaps)                  // Capabilities
	le.PutUint16(t[4:], uint16(len(a.TPMAlgs))) // Count
	for n, alg := range a.TPMAlgs {
		le.PutUint16(t[6+2*n:], alg)
	}
	return b
}

// KernelV16 lays out a Secure Launch v16 bzImage: the setup header of
// Kernel with boot protocol 2.15 and loadflags LOADED_HIGH|SLAUNCH_FLAG
// (boot.rst "loadflags" bit 0; bit 2 SLAUNCH_FLAG of the Secure Launch
// series' arch/x86/include/uapi/asm/bootparam.h), and a kernel_info of
// the 16-byte fixed part alone (no mle_header_offset: v16 keeps the MLE
// header in vmlinux, arch/x86/kernel/sl_stub.S).
func KernelV16() []byte {
	b := Kernel(0x020F, 0x10, 0)
	b[0x211] = 1<<0 | 1<<2 // loadflags: LOADED_HIGH | SLAUNCH_FLAG
	return b
}
