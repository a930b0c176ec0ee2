package uki

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// MaxSize bounds a PE image slkit reads: a UKI carries a kernel and an
// initramfs, far below this.
const MaxSize = 1 << 30

// PE/COFF constants (Microsoft PE Format: "Optional Header Windows-Specific
// Fields", "Optional Header Data Directories", "Section Flags").
const (
	magicPE32Plus           = 0x20b
	machineAMD64            = 0x8664
	subsystemEFIApplication = 10
	dirSecurity             = 4 // the attribute certificate table: a file offset, not an RVA
	optChecksum             = 64
	optDataDirs             = 112 // PE32+
	optSizeOfInitData       = 8
	optSizeOfImage          = 56
	optSizeOfHeaders        = 60
	optSectionAlignment     = 32
	optFileAlignment        = 36
	optSubsystem            = 68
	sectionHeaderSize       = 40
	scnInitializedData      = 0x00000040
	scnMemRead              = 0x40000000
)

// Section is one section header.
type Section struct {
	Name            string
	VirtualAddress  uint32
	VirtualSize     uint32
	Offset          uint32 // PointerToRawData
	RawSize         uint32 // SizeOfRawData
	Characteristics uint32
}

// end is the first virtual address after the section.
func (s *Section) end() uint64 {
	return uint64(s.VirtualAddress) + uint64(max(s.VirtualSize, s.RawSize))
}

// PE is a parsed PE32+ image: what Authenticode, the firmware and
// systemd-stub read of it. Every offset was checked against the file's
// size.
type PE struct {
	r    io.ReaderAt
	Size int64

	peOff            int64 // "PE\0\0"
	optOff           int64 // optional header
	sectionTableOff  int64
	SizeOfHeaders    uint32
	SectionAlignment uint32
	FileAlignment    uint32
	SizeOfImage      uint32
	Subsystem        uint16
	Sections         []Section
	// CertOffset and CertSize are the attribute certificate table (data
	// directory 4), zero when the image is unsigned.
	CertOffset, CertSize uint32
	// SymbolsOffset and SymbolsSize are the COFF symbol table and its
	// string table (deprecated for images; toolchains still leave them).
	SymbolsOffset, SymbolsSize int64
}

// ErrFormat: the bytes are not a PE32+ image slkit can work with.
var ErrFormat = errFormat

// ParsePE parses a PE32+ (x86-64) image of size bytes at r, refusing
// anything larger than MaxSize before reading it. It checks what later
// code relies on: headers, section table and section data inside the
// file, the certificate table (if any) at the file's end and 8-byte
// aligned, as the Authenticode specification requires.
func ParsePE(r io.ReaderAt, size int64) (*PE, error) {
	if size > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d a UKI may have", ErrFormat, size, MaxSize)
	}
	sr := io.NewSectionReader(r, 0, size)
	var dos [64]byte
	if _, err := sr.ReadAt(dos[:], 0); err != nil || dos[0] != 'M' || dos[1] != 'Z' {
		return nil, fmt.Errorf("%w: no MZ header", ErrFormat)
	}
	if err := precheck(sr, size, int64(binary.LittleEndian.Uint32(dos[0x3c:]))); err != nil {
		return nil, err
	}
	f, err := pe.NewFile(sr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	defer f.Close()
	p := &PE{r: sr, Size: size, peOff: int64(binary.LittleEndian.Uint32(dos[0x3c:]))}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	switch {
	case !ok || oh.Magic != magicPE32Plus:
		return nil, fmt.Errorf("%w: not PE32+ (a 64-bit image)", ErrFormat)
	case f.Machine != machineAMD64:
		return nil, fmt.Errorf("%w: machine %#x, want x86-64 (0x8664)", ErrFormat, f.Machine)
	case oh.NumberOfRvaAndSizes <= dirSecurity || int(f.SizeOfOptionalHeader) < optDataDirs+8*(dirSecurity+1):
		return nil, fmt.Errorf("%w: %d data directories: no certificate table entry", ErrFormat, oh.NumberOfRvaAndSizes)
	}
	p.optOff = p.peOff + 4 + 20
	p.sectionTableOff = p.optOff + int64(f.SizeOfOptionalHeader)
	p.SizeOfHeaders, p.SectionAlignment, p.FileAlignment = oh.SizeOfHeaders, oh.SectionAlignment, oh.FileAlignment
	p.SizeOfImage, p.Subsystem = oh.SizeOfImage, oh.Subsystem
	if end := p.sectionTableOff + int64(len(f.Sections))*sectionHeaderSize; end > int64(p.SizeOfHeaders) || int64(p.SizeOfHeaders) > size {
		return nil, fmt.Errorf("%w: section table ends at %d, headers at %d, file at %d", ErrFormat, end, p.SizeOfHeaders, size)
	}
	if p.FileAlignment == 0 || p.FileAlignment&(p.FileAlignment-1) != 0 || p.SectionAlignment < p.FileAlignment || p.SectionAlignment&(p.SectionAlignment-1) != 0 {
		return nil, fmt.Errorf("%w: section alignment %#x, file alignment %#x", ErrFormat, p.SectionAlignment, p.FileAlignment)
	}
	for _, s := range f.Sections {
		x := Section{Name: s.Name, VirtualAddress: s.VirtualAddress, VirtualSize: s.VirtualSize,
			Offset: s.Offset, RawSize: s.Size, Characteristics: s.Characteristics}
		if x.RawSize > 0 && (int64(x.Offset) < int64(p.SizeOfHeaders) || int64(x.Offset)+int64(x.RawSize) > size) {
			return nil, fmt.Errorf("%w: section %q data at %d+%d outside the file (%d bytes)", ErrFormat, x.Name, x.Offset, x.RawSize, size)
		}
		p.Sections = append(p.Sections, x)
	}
	cert := oh.DataDirectory[dirSecurity]
	p.CertOffset, p.CertSize = cert.VirtualAddress, cert.Size
	if cert.Size != 0 || cert.VirtualAddress != 0 {
		if int64(cert.VirtualAddress)+int64(cert.Size) != size || cert.VirtualAddress%8 != 0 || int64(cert.VirtualAddress) < p.hashedEnd() {
			return nil, fmt.Errorf("%w: certificate table at %d+%d is not 8-byte aligned at the end of the %d-byte file after the sections", ErrFormat, cert.VirtualAddress, cert.Size, size)
		}
	}
	if f.PointerToSymbolTable != 0 {
		p.SymbolsOffset = int64(f.PointerToSymbolTable)
		p.SymbolsSize = int64(f.NumberOfSymbols) * 18
		var n [4]byte
		if _, err := sr.ReadAt(n[:], p.SymbolsOffset+p.SymbolsSize); err == nil {
			p.SymbolsSize += int64(binary.LittleEndian.Uint32(n[:]))
		}
		if p.SymbolsOffset+p.SymbolsSize > size {
			return nil, fmt.Errorf("%w: symbol table at %d+%d outside the file", ErrFormat, p.SymbolsOffset, p.SymbolsSize)
		}
	}
	return p, nil
}

// maxSections is the PE format's limit on NumberOfSections.
const maxSections = 96

// precheck reads the COFF file header itself before debug/pe does, which
// allocates the symbol table and section headers from their counts before
// it reads them: counts that do not fit in the file are refused first.
func precheck(r io.ReaderAt, size, peOff int64) error {
	var h [24]byte
	if peOff < 0 || peOff > size-24 {
		return fmt.Errorf("%w: PE header offset %d outside the file", ErrFormat, peOff)
	}
	if _, err := r.ReadAt(h[:], peOff); err != nil || string(h[:4]) != "PE\x00\x00" {
		return fmt.Errorf("%w: no PE signature", ErrFormat)
	}
	nsec := int64(binary.LittleEndian.Uint16(h[6:]))
	symOff, nsym := int64(binary.LittleEndian.Uint32(h[12:])), int64(binary.LittleEndian.Uint32(h[16:]))
	switch {
	case nsec > maxSections:
		return fmt.Errorf("%w: %d sections, the format allows %d", ErrFormat, nsec, maxSections)
	case symOff != 0 && (symOff > size || nsym*18 > size-symOff):
		return fmt.Errorf("%w: %d symbols at %d do not fit in the %d-byte file", ErrFormat, nsym, symOff, size)
	}
	return nil
}

// hashedEnd is the end of the section data (SizeOfHeaders when there is
// none): where Authenticode's "extra data" would start.
func (p *PE) hashedEnd() int64 {
	end := int64(p.SizeOfHeaders)
	for _, s := range p.Sections {
		if s.RawSize > 0 {
			end = max(end, int64(s.Offset)+int64(s.RawSize))
		}
	}
	return end
}

// Section returns the section called name, or nil.
func (p *PE) Section(name string) *Section {
	for i := range p.Sections {
		if p.Sections[i].Name == name {
			return &p.Sections[i]
		}
	}
	return nil
}

// SectionReader returns what a loader maps for s: VirtualSize bytes, the
// raw data followed by zeros when VirtualSize exceeds it.
func (p *PE) SectionReader(s *Section) io.Reader {
	raw := io.NewSectionReader(p.r, int64(s.Offset), int64(min(s.VirtualSize, s.RawSize)))
	if s.VirtualSize <= s.RawSize {
		return raw
	}
	return io.MultiReader(raw, io.LimitReader(zeros{}, int64(s.VirtualSize-s.RawSize)))
}

// SectionBytes reads a section of at most limit bytes.
func (p *PE) SectionBytes(s *Section, limit int64) ([]byte, error) {
	if int64(s.VirtualSize) > limit {
		return nil, fmt.Errorf("%w: section %s holds %d bytes, more than %d", ErrFormat, s.Name, s.VirtualSize, limit)
	}
	var b bytes.Buffer
	_, err := io.Copy(&b, p.SectionReader(s))
	return b.Bytes(), err
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// hashRanges are the byte ranges of the file the Authenticode digest
// covers, in order (Authenticode PE specification, "Calculating the PE
// Image Hash"): the headers without the checksum and the certificate table
// entry, the sections with raw data sorted by file offset, then any data
// after the last section up to the certificate table.
func (p *PE) hashRanges() [][2]int64 {
	ck := p.optOff + optChecksum
	dir := p.optOff + optDataDirs + 8*dirSecurity
	rs := [][2]int64{{0, ck}, {ck + 4, dir}, {dir + 8, int64(p.SizeOfHeaders)}}
	secs := append([]Section(nil), p.Sections...)
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].Offset < secs[j].Offset })
	sum := int64(p.SizeOfHeaders)
	for _, s := range secs {
		if s.RawSize == 0 {
			continue
		}
		rs = append(rs, [2]int64{int64(s.Offset), int64(s.Offset) + int64(s.RawSize)})
		sum += int64(s.RawSize)
	}
	end := p.Size - int64(p.CertSize)
	if end > sum {
		rs = append(rs, [2]int64{sum, end})
	}
	return rs
}
