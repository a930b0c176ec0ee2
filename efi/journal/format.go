package journal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"time"
	"unicode/utf8"

	"github.com/slkit/slkit/efi"
)

// Version is the journal format version this package reads and writes.
const Version = 1

// Limits of a journal (its header records them too).
const (
	MaxEntries = 64
	MaxBytes   = 256 << 10
)

// MaxGeneration is the largest generation a journal or state file may
// carry: far more than a machine queues in its life, and far from the
// wrap-around of the 64-bit field.
const MaxGeneration = 1 << 48

// Layout (all integers little-endian; README.md has the full table).
const (
	headerSize    = 64
	entryFixed    = 68 // up to the name
	entryOverhead = entryFixed + 4
	sigSize       = ed25519.SignatureSize
	magic         = "SLKEFIJ\x00"
)

// Entry flags.
const (
	flagExpectValue  = 0x01
	flagExpectAbsent = 0x02
	flagReboot       = 0x04
)

// signContext separates journal signatures from any other use of the key.
const signContext = "slkit efi journal v1\x00"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Journal is a parsed journal file.
type Journal struct {
	Generation uint64
	// Created is when the journal was written (informational, whole
	// seconds; zero if unknown).
	Created time.Time
	// KeyID is the first 16 bytes of the SHA-256 of the signing key's
	// PKIX encoding.
	KeyID   [16]byte
	Entries []Entry
	// Digest is the SHA-256 of the whole file; the state file names the
	// journal it belongs to by it.
	Digest [32]byte
}

// Marshal encodes and signs the journal. It fails with ErrFull past the
// limits and with ErrMalformed for an invalid entry, including a variable
// name efivarfs would not create as the same firmware name.
func (j *Journal) Marshal(key ed25519.PrivateKey) ([]byte, error) { return j.marshal(key, true) }

// marshal is Marshal; without strictNames it takes any name Parse takes.
func (j *Journal) marshal(key ed25519.PrivateKey, strictNames bool) ([]byte, error) {
	if len(j.Entries) > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries, at most %d", ErrFull, len(j.Entries), MaxEntries)
	}
	if j.Generation == 0 || j.Generation > MaxGeneration {
		return nil, fmt.Errorf("%w journal: generation %d (generations are 1 to %d)", ErrMalformed, j.Generation, uint64(MaxGeneration))
	}
	if err := checkEntries(j.Entries, strictNames); err != nil {
		return nil, err
	}
	size := headerSize + sigSize
	for i := range j.Entries {
		size += entryOverhead + len(j.Entries[i].Var.Name) + len(wireData(&j.Entries[i].Change))
	}
	if size > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrFull, size, MaxBytes)
	}
	pub := key.Public().(ed25519.PublicKey)
	j.KeyID = KeyID(pub)
	b := make([]byte, headerSize, size)
	copy(b, magic)
	binary.LittleEndian.PutUint16(b[8:], Version)
	binary.LittleEndian.PutUint16(b[10:], headerSize)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(j.Entries)))
	binary.LittleEndian.PutUint64(b[16:], j.Generation)
	binary.LittleEndian.PutUint32(b[24:], MaxEntries)
	binary.LittleEndian.PutUint32(b[28:], MaxBytes)
	copy(b[32:48], j.KeyID[:])
	if !j.Created.IsZero() {
		binary.LittleEndian.PutUint64(b[48:], uint64(j.Created.Unix()))
	}
	binary.LittleEndian.PutUint32(b[56:], uint32(size))
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	for i := range j.Entries {
		b = appendEntry(b, &j.Entries[i])
	}
	b = append(b, ed25519.Sign(key, append([]byte(signContext), b...))...)
	j.Digest = sha256.Sum256(b)
	return b, nil
}

// wireData is an entry's data field: the value, or for OpOsIndications
// the set and clear masks (le64 each).
func wireData(c *Change) []byte {
	if c.Op == OpOsIndications {
		return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, c.SetBits), c.ClearBits)
	}
	return c.Data
}

func appendEntry(b []byte, e *Entry) []byte {
	start := len(b)
	data := wireData(&e.Change)
	var flags byte
	switch e.Expect.Kind {
	case ExpectValue:
		flags |= flagExpectValue
	case ExpectAbsent:
		flags |= flagExpectAbsent
	}
	if e.Reboot {
		flags |= flagReboot
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(entryOverhead+len(e.Var.Name)+len(data)))
	b = binary.LittleEndian.AppendUint32(b, e.Seq)
	b = append(b, byte(e.Op), flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(e.Var.Name)))
	b = binary.LittleEndian.AppendUint32(b, uint32(e.Attr))
	b = append(b, e.Var.GUID[:]...)
	b = append(b, e.Expect.SHA256[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, e.Var.Name...)
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// checkEntries enforces what every journal satisfies: valid changes,
// sequence numbers 1, 2, ... without gaps, and BootNext/OsIndications
// entries after all others. With strictNames every variable name must be
// one efivarfs creates as the same firmware name (efi.Name.Check); a
// parsed journal (written by an older slkit) is only held to names
// efivarfs can list, and Commit fails the entries whose names it cannot
// create on their own.
func checkEntries(es []Entry, strictNames bool) error {
	sawLate := false
	for i := range es {
		e := &es[i]
		if e.Seq != uint32(i+1) {
			return fmt.Errorf("%w journal: entry %d has sequence %d, want %d (gap or reorder)", ErrMalformed, i+1, e.Seq, i+1)
		}
		if err := e.check(strictNames); err != nil {
			return fmt.Errorf("entry %d: %w", e.Seq, err)
		}
		if e.Late() {
			sawLate = true
		} else if sawLate {
			return fmt.Errorf("%w journal: entry %d (%s) comes after a BootNext/OsIndications entry; those must be last", ErrMalformed, e.Seq, e.Var)
		}
	}
	return nil
}

// Parse decodes a journal without checking its signature (use [Verify]):
// header, limits, per-entry checksums, sequence numbers and entry
// validity. Errors wrap ErrMalformed and say what is wrong in one line.
func Parse(b []byte) (*Journal, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w journal: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if len(b) < headerSize {
		return nil, bad("truncated: %d bytes, the header alone is %d", len(b), headerSize)
	}
	if string(b[:8]) != magic {
		return nil, bad("not an slkit EFI journal (magic %q)", b[:8])
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != Version {
		return nil, bad("version %d, this slkit reads version %d", v, Version)
	}
	if crc32.Checksum(b[:60], castagnoli) != binary.LittleEndian.Uint32(b[60:]) {
		return nil, bad("header checksum mismatch")
	}
	if hs := binary.LittleEndian.Uint16(b[10:]); hs != headerSize {
		return nil, bad("header size %d, want %d", hs, headerSize)
	}
	n := binary.LittleEndian.Uint32(b[12:])
	maxE, maxB := binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint32(b[28:])
	total := binary.LittleEndian.Uint32(b[56:])
	switch {
	case maxE != MaxEntries || maxB != MaxBytes:
		return nil, bad("limits %d entries/%d bytes, want %d/%d", maxE, maxB, MaxEntries, MaxBytes)
	case n > MaxEntries:
		return nil, bad("%d entries, at most %d", n, MaxEntries)
	case total > MaxBytes:
		return nil, bad("%d bytes, at most %d", total, MaxBytes)
	case uint64(len(b)) < uint64(total):
		return nil, bad("truncated: header says %d bytes, file has %d", total, len(b))
	case uint64(len(b)) > uint64(total):
		return nil, bad("%d bytes after the signature", uint64(len(b))-uint64(total))
	case total < headerSize+sigSize:
		return nil, bad("length %d too small for header and signature", total)
	}
	j := &Journal{Generation: binary.LittleEndian.Uint64(b[16:]), Digest: sha256.Sum256(b)}
	if j.Generation == 0 || j.Generation > MaxGeneration {
		return nil, bad("generation %d (generations are 1 to %d)", j.Generation, uint64(MaxGeneration))
	}
	copy(j.KeyID[:], b[32:48])
	if c := binary.LittleEndian.Uint64(b[48:]); c != 0 {
		if c > 1<<40 {
			return nil, bad("creation time %d out of range", c)
		}
		j.Created = time.Unix(int64(c), 0).UTC()
	}
	body := b[headerSize : len(b)-sigSize]
	for i := uint32(0); i < n; i++ {
		e, rest, err := parseEntry(body, i+1)
		if err != nil {
			return nil, err
		}
		j.Entries = append(j.Entries, *e)
		body = rest
	}
	if len(body) != 0 {
		return nil, bad("%d stray bytes after entry %d", len(body), n)
	}
	if err := checkEntries(j.Entries, false); err != nil {
		return nil, err
	}
	return j, nil
}

func parseEntry(b []byte, idx uint32) (*Entry, []byte, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w journal: entry %d: %s", ErrMalformed, idx, fmt.Sprintf(format, a...))
	}
	if len(b) < entryOverhead {
		return nil, nil, bad("truncated (%d bytes left)", len(b))
	}
	l := binary.LittleEndian.Uint32(b)
	if l < entryOverhead || uint64(l) > uint64(len(b)) {
		return nil, nil, bad("length %d, %d bytes left", l, len(b))
	}
	eb := b[:l]
	if crc32.Checksum(eb[:l-4], castagnoli) != binary.LittleEndian.Uint32(eb[l-4:]) {
		return nil, nil, bad("checksum mismatch")
	}
	nameLen := int(binary.LittleEndian.Uint16(eb[10:]))
	dataLen := binary.LittleEndian.Uint32(eb[64:])
	if uint64(entryOverhead)+uint64(nameLen)+uint64(dataLen) != uint64(l) {
		return nil, nil, bad("name %d + data %d bytes do not fill its length %d", nameLen, dataLen, l)
	}
	e := &Entry{Seq: binary.LittleEndian.Uint32(eb[4:])}
	e.Op = Op(eb[8])
	flags := eb[9]
	if flags&^(flagExpectValue|flagExpectAbsent|flagReboot) != 0 || flags&(flagExpectValue|flagExpectAbsent) == flagExpectValue|flagExpectAbsent {
		return nil, nil, bad("flags %#x", flags)
	}
	e.Attr = efi.Attr(binary.LittleEndian.Uint32(eb[12:]))
	copy(e.Var.GUID[:], eb[16:32])
	copy(e.Expect.SHA256[:], eb[32:64])
	switch {
	case flags&flagExpectValue != 0:
		e.Expect.Kind = ExpectValue
	case flags&flagExpectAbsent != 0:
		e.Expect.Kind = ExpectAbsent
	}
	e.Reboot = flags&flagReboot != 0
	name := eb[entryFixed : entryFixed+nameLen]
	if !utf8.Valid(name) {
		return nil, nil, bad("variable name is not UTF-8")
	}
	e.Var.Name = string(name)
	data := eb[entryFixed+nameLen : l-4]
	if e.Op == OpOsIndications {
		if len(data) != 16 {
			return nil, nil, bad("OsIndications operands are %d bytes, want 16", len(data))
		}
		e.SetBits = binary.LittleEndian.Uint64(data)
		e.ClearBits = binary.LittleEndian.Uint64(data[8:])
	} else if len(data) > 0 {
		e.Data = bytes.Clone(data)
	}
	return e, b[l:], nil
}

// Verify parses a journal and checks that it is signed by pub. A journal
// signed by another key fails with ErrWrongKey, a bad signature with
// ErrSignature, anything else malformed with ErrMalformed.
func Verify(b []byte, pub ed25519.PublicKey) (*Journal, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key of %d bytes", ErrMalformed, len(pub))
	}
	j, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if want := KeyID(pub); j.KeyID != want {
		return nil, fmt.Errorf("%w: journal signed by key %s, trusted key is %s", ErrWrongKey, hex.EncodeToString(j.KeyID[:]), hex.EncodeToString(want[:]))
	}
	msg := append([]byte(signContext), b[:len(b)-sigSize]...)
	if !ed25519.Verify(pub, msg, b[len(b)-sigSize:]) {
		return nil, fmt.Errorf("%w: journal signature does not verify under key %s", ErrSignature, hex.EncodeToString(j.KeyID[:]))
	}
	return j, nil
}
