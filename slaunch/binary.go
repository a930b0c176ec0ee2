package slaunch

import "encoding/binary"

// field reads little-endian integers from an image with bounds checks; the
// first failure is kept and every later read returns zero, so a parser reads
// a whole structure and checks the error once.
type field struct {
	what string // "SINIT ACM", "SKL", ...
	b    []byte
	err  error
}

func (f *field) need(off, n int64, name string) bool {
	if f.err != nil {
		return false
	}
	if off < 0 || n < 0 || off > int64(len(f.b)) || n > int64(len(f.b))-off {
		f.err = formatErr(f.what, off, "%s (%d bytes) runs past the end of the %d-byte image", name, n, len(f.b))
		return false
	}
	return true
}

func (f *field) u8(off int64, name string) uint8 {
	if !f.need(off, 1, name) {
		return 0
	}
	return f.b[off]
}

func (f *field) u16(off int64, name string) uint16 {
	if !f.need(off, 2, name) {
		return 0
	}
	return binary.LittleEndian.Uint16(f.b[off:])
}

func (f *field) u32(off int64, name string) uint32 {
	if !f.need(off, 4, name) {
		return 0
	}
	return binary.LittleEndian.Uint32(f.b[off:])
}

func (f *field) u64(off int64, name string) uint64 {
	if !f.need(off, 8, name) {
		return 0
	}
	return binary.LittleEndian.Uint64(f.b[off:])
}

func (f *field) bytes(off, n int64, name string) []byte {
	if !f.need(off, n, name) {
		return nil
	}
	return append([]byte(nil), f.b[off:off+n]...)
}

// fail records a semantic error at off (if none is recorded yet).
func (f *field) fail(off int64, format string, a ...any) {
	if f.err == nil {
		f.err = formatErr(f.what, off, format, a...)
	}
}

// put writes little-endian integers into b (the inverse of field).
func put16(b []byte, off int64, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int64, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int64, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
