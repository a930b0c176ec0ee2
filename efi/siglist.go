package efi

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// SignatureList is an EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1), the unit of
// db, dbx, KEK and PK:
//
//	EFI_GUID SignatureType
//	UINT32   SignatureListSize      whole list, header included
//	UINT32   SignatureHeaderSize
//	UINT32   SignatureSize          each EFI_SIGNATURE_DATA
//	UINT8    SignatureHeader[SignatureHeaderSize]
//	EFI_SIGNATURE_DATA Signatures[]  { EFI_GUID SignatureOwner; UINT8 SignatureData[SignatureSize-16] }
type SignatureList struct {
	Type       GUID
	Header     []byte
	Size       uint32 // SignatureSize: 16 (owner) + data length
	Signatures []SignatureData
}

// SignatureData is one EFI_SIGNATURE_DATA.
type SignatureData struct {
	Owner GUID
	Data  []byte
}

const sigListHeader = 28

// ParseSignatureLists parses a signature database: zero or more lists
// filling b exactly. Each list must hold at least one signature, its
// SignatureSize must exceed the 16-byte owner, and its signatures must
// fill it exactly; go-uefi's signature parser, which underflows and exits
// on such input, is safe on anything this accepts.
func ParseSignatureLists(b []byte) ([]SignatureList, error) {
	var out []SignatureList
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < sigListHeader {
			return nil, fmt.Errorf("%w signature list at offset %d: %d bytes, header needs %d", ErrMalformed, off, len(rest), sigListHeader)
		}
		var l SignatureList
		copy(l.Type[:], rest[0:16])
		listSize := binary.LittleEndian.Uint32(rest[16:])
		hdrSize := binary.LittleEndian.Uint32(rest[20:])
		l.Size = binary.LittleEndian.Uint32(rest[24:])
		switch {
		case uint64(listSize) > uint64(len(rest)):
			return nil, fmt.Errorf("%w signature list at offset %d: size %d, %d bytes left", ErrMalformed, off, listSize, len(rest))
		case uint64(listSize) < sigListHeader+uint64(hdrSize):
			return nil, fmt.Errorf("%w signature list at offset %d: size %d smaller than its headers", ErrMalformed, off, listSize)
		case l.Size <= 16:
			return nil, fmt.Errorf("%w signature list at offset %d: signature size %d, want more than 16", ErrMalformed, off, l.Size)
		}
		body := rest[sigListHeader+int(hdrSize) : listSize]
		if len(body) == 0 || uint64(len(body))%uint64(l.Size) != 0 {
			return nil, fmt.Errorf("%w signature list at offset %d: %d bytes of signatures, not a positive multiple of %d", ErrMalformed, off, len(body), l.Size)
		}
		l.Header = append([]byte(nil), rest[sigListHeader:sigListHeader+int(hdrSize)]...)
		for s := 0; s < len(body); s += int(l.Size) {
			var d SignatureData
			copy(d.Owner[:], body[s:s+16])
			d.Data = append([]byte(nil), body[s+16:s+int(l.Size)]...)
			l.Signatures = append(l.Signatures, d)
		}
		out = append(out, l)
		off += int(listSize)
	}
	return out, nil
}

// MarshalSignatureLists encodes lists; every signature's data must be
// Size-16 bytes long.
func MarshalSignatureLists(lists []SignatureList) ([]byte, error) {
	var b []byte
	for i, l := range lists {
		if l.Size <= 16 || len(l.Signatures) == 0 {
			return nil, fmt.Errorf("%w signature list %d: size %d with %d signatures", ErrMalformed, i, l.Size, len(l.Signatures))
		}
		total := uint64(sigListHeader) + uint64(len(l.Header)) + uint64(l.Size)*uint64(len(l.Signatures))
		if total > 0xffffffff {
			return nil, fmt.Errorf("%w signature list %d: too large", ErrMalformed, i)
		}
		b = append(b, l.Type[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(total))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(l.Header)))
		b = binary.LittleEndian.AppendUint32(b, l.Size)
		b = append(b, l.Header...)
		for j, s := range l.Signatures {
			if uint32(len(s.Data))+16 != l.Size {
				return nil, fmt.Errorf("%w signature list %d: signature %d has %d data bytes, want %d", ErrMalformed, i, j, len(s.Data), l.Size-16)
			}
			b = append(b, s.Owner[:]...)
			b = append(b, s.Data...)
		}
	}
	return b, nil
}

// sameKind reports whether a signature of list a could equally sit in b.
func (a *SignatureList) sameKind(b *SignatureList) bool {
	return a.Type == b.Type && a.Size == b.Size && bytes.Equal(a.Header, b.Header)
}

// Contains reports whether a signature with this type, header, owner and
// data is in the database.
func containsSignature(db []SignatureList, kind *SignatureList, s SignatureData) bool {
	for i := range db {
		if !db[i].sameKind(kind) {
			continue
		}
		for _, t := range db[i].Signatures {
			if t.Owner == s.Owner && bytes.Equal(t.Data, s.Data) {
				return true
			}
		}
	}
	return false
}

// AppendSignatureLists is what firmware does for an authenticated APPEND
// write to a signature database (edk2 AuthVariableLib FilterSignatureList,
// UEFI 2.10 §8.2.1 "the firmware ... shall not append duplicate
// signatures"): every signature of add that cur already holds is dropped,
// lists left empty are dropped, and the rest is appended after cur.
func AppendSignatureLists(cur, add []byte) ([]byte, error) {
	db, err := ParseSignatureLists(cur)
	if err != nil {
		return nil, fmt.Errorf("current value: %w", err)
	}
	extra, err := ParseSignatureLists(add)
	if err != nil {
		return nil, fmt.Errorf("appended data: %w", err)
	}
	var keep []SignatureList
	for _, l := range extra {
		nl := SignatureList{Type: l.Type, Header: l.Header, Size: l.Size}
		for _, s := range l.Signatures {
			if !containsSignature(db, &l, s) && !containsSignature([]SignatureList{nl}, &l, s) {
				nl.Signatures = append(nl.Signatures, s)
			}
		}
		if len(nl.Signatures) > 0 {
			keep = append(keep, nl)
		}
	}
	tail, err := MarshalSignatureLists(keep)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(nil), cur...), tail...), nil
}

// SignatureListsContain reports whether every signature of add is in cur
// (both signature databases): the read-back check of an authenticated
// append.
func SignatureListsContain(cur, add []byte) (bool, error) {
	db, err := ParseSignatureLists(cur)
	if err != nil {
		return false, err
	}
	extra, err := ParseSignatureLists(add)
	if err != nil {
		return false, err
	}
	for i := range extra {
		for _, s := range extra[i].Signatures {
			if !containsSignature(db, &extra[i], s) {
				return false, nil
			}
		}
	}
	return true, nil
}

// IsSignatureDatabase reports whether n is one of the variables whose
// value is a list of EFI_SIGNATURE_LISTs (PK, KEK, db, dbx, dbt, dbr).
func IsSignatureDatabase(n Name) bool {
	switch n.GUID {
	case GlobalGUID:
		return n.Name == "PK" || n.Name == "KEK"
	case ImageSecurityGUID:
		return n.Name == "db" || n.Name == "dbx" || n.Name == "dbt" || n.Name == "dbr"
	}
	return false
}
