package uki

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Addresses are the section addresses systemd-stub(7) documents for a UKI
// made by hand (objcopy --change-section-vma); Assemble uses them when
// the sizes allow and otherwise places a section at the next page after
// the one before it.
var Addresses = map[string]uint32{
	".osrel":   0x20000,
	".cmdline": 0x30000,
	".dtb":     0x40000,
	".splash":  0x100000,
	".linux":   0x2000000,
	".initrd":  0x3000000,
}

// sectionOrder is the order Assemble lays sections out in: by documented
// address.
var sectionOrder = []string{".osrel", ".cmdline", ".dtb", ".splash", ".linux", ".initrd"}

// pageSize aligns sections Assemble has to move.
const pageSize = 0x1000

// Placed is where Assemble put a section.
type Placed struct {
	Name           string `json:"name"`
	VirtualAddress uint32 `json:"virtual_address"`
	Size           uint32 `json:"size"`
	// Moved is set when the documented address would have overlapped the
	// section before it.
	Moved bool `json:"moved,omitempty"`
}

// Assemble returns a UKI: the stub with each section of sections (name →
// contents; names from Addresses) added, laid out in documented-address
// order at its documented address or, when the stub or the section before
// it reaches past that (a kernel over 16 MiB reaches .initrd's), at the
// next page after it. The stub's COFF symbol table is dropped (a loader
// never reads it, and left in place it would be a gap between sections
// that Authenticode hashes ambiguously). The result is unsigned, its
// length a multiple of the file alignment, its PE checksum set; the same
// inputs give the same bytes.
func Assemble(stub []byte, sections map[string][]byte) ([]byte, []Placed, error) {
	p, err := ParsePE(bytes.NewReader(stub), int64(len(stub)))
	if err != nil {
		return nil, nil, fmt.Errorf("stub: %w", err)
	}
	if err := checkStub(p, sections); err != nil {
		return nil, nil, err
	}
	var names []string
	for _, n := range sectionOrder {
		if _, ok := sections[n]; ok {
			names = append(names, n)
		}
	}
	if len(names) != len(sections) {
		return nil, nil, fmt.Errorf("%w: sections %v: only %v can be added", ErrLayout, keys(sections), sectionOrder)
	}
	tableEnd := p.sectionTableOff + int64(len(p.Sections)+len(names))*sectionHeaderSize
	if tableEnd > int64(p.SizeOfHeaders) {
		return nil, nil, fmt.Errorf("%w: the stub's headers (%d bytes) have no room for %d more section headers", ErrLayout, p.SizeOfHeaders, len(names))
	}
	out := append([]byte(nil), stub[:p.hashedEnd()]...)
	next := alignUp(uint64(p.SizeOfImage), uint64(p.SectionAlignment))
	var placed []Placed
	var headers []byte
	initData := uint32(0)
	for _, n := range names {
		data := sections[n]
		if uint64(len(data)) > MaxSize {
			return nil, nil, fmt.Errorf("%w: section %s is %d bytes", ErrLayout, n, len(data))
		}
		va := uint64(Addresses[n])
		pl := Placed{Name: n, Size: uint32(len(data))}
		if va < next {
			va, pl.Moved = alignUp(next, pageSize), true
		}
		pl.VirtualAddress = uint32(va)
		next = alignUp(va+uint64(len(data)), uint64(p.SectionAlignment))
		if next > 1<<32-1 {
			return nil, nil, fmt.Errorf("%w: the sections need more than 4 GiB of address space", ErrLayout)
		}
		out = pad(out, p.FileAlignment)
		raw := uint32(alignUp(uint64(len(data)), uint64(p.FileAlignment)))
		var h [sectionHeaderSize]byte
		copy(h[:8], n)
		binary.LittleEndian.PutUint32(h[8:], uint32(len(data)))  // VirtualSize
		binary.LittleEndian.PutUint32(h[12:], pl.VirtualAddress) // VirtualAddress
		binary.LittleEndian.PutUint32(h[16:], raw)               // SizeOfRawData
		binary.LittleEndian.PutUint32(h[20:], uint32(len(out)))  // PointerToRawData
		binary.LittleEndian.PutUint32(h[36:], scnInitializedData|scnMemRead)
		headers = append(headers, h[:]...)
		out = append(out, data...)
		initData += raw
		placed = append(placed, pl)
	}
	out = pad(out, p.FileAlignment)
	coff := p.peOff + 4
	binary.LittleEndian.PutUint16(out[coff+2:], uint16(len(p.Sections)+len(names)))
	binary.LittleEndian.PutUint32(out[coff+8:], 0)  // PointerToSymbolTable
	binary.LittleEndian.PutUint32(out[coff+12:], 0) // NumberOfSymbols
	opt := p.optOff
	binary.LittleEndian.PutUint32(out[opt+optSizeOfInitData:], binary.LittleEndian.Uint32(out[opt+optSizeOfInitData:])+initData)
	binary.LittleEndian.PutUint32(out[opt+optSizeOfImage:], uint32(next))
	copy(out[p.sectionTableOff+int64(len(p.Sections))*sectionHeaderSize:], headers)
	SetChecksum(out)
	return out, placed, nil
}

// checkStub refuses a stub Assemble cannot build on: not an EFI
// application, signed, already holding one of the sections, or with data
// after its sections other than the COFF symbol table.
func checkStub(p *PE, sections map[string][]byte) error {
	switch {
	case p.Subsystem != subsystemEFIApplication:
		return fmt.Errorf("%w: stub subsystem %d, want an EFI application (10)", ErrLayout, p.Subsystem)
	case p.CertSize != 0:
		return fmt.Errorf("%w: the stub is signed: sign the assembled UKI instead", ErrLayout)
	}
	for n := range sections {
		if p.Section(n) != nil {
			return fmt.Errorf("%w: the stub already has a %s section", ErrLayout, n)
		}
	}
	end := p.hashedEnd()
	if p.SymbolsOffset == end {
		end += p.SymbolsSize
	}
	if end < p.Size {
		return fmt.Errorf("%w: the stub has %d bytes after its sections that are not its symbol table", ErrLayout, p.Size-end)
	}
	return nil
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }

func pad(b []byte, a uint32) []byte {
	return append(b, make([]byte, alignUp(uint64(len(b)), uint64(a))-uint64(len(b)))...)
}

// SetChecksum sets the PE checksum of img in place (the 16-bit
// one's-complement-style sum of the file with the checksum field taken as
// zero, plus the file length: ImageHlp's CheckSumMappedFile). It is not
// part of the Authenticode digest, so it is set again after signing.
func SetChecksum(img []byte) {
	peOff := int(binary.LittleEndian.Uint32(img[0x3c:]))
	ck := peOff + 4 + 20 + optChecksum
	binary.LittleEndian.PutUint32(img[ck:], Checksum(img))
}

// Checksum computes the PE checksum of img (the field itself counted as
// zero).
func Checksum(img []byte) uint32 {
	peOff := int(binary.LittleEndian.Uint32(img[0x3c:]))
	ck := peOff + 4 + 20 + optChecksum
	var sum uint64
	for i := 0; i < len(img); i += 2 {
		if i == ck || i == ck+2 {
			continue
		}
		w := uint64(img[i])
		if i+1 < len(img) {
			w |= uint64(img[i+1]) << 8
		}
		sum += w
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(len(img))
}
