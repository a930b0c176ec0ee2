package initramfs

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
)

// newc header layout (buffer-format.rst): the magic "070701", then 13
// fields of 8 ASCII hex digits: ino, mode, uid, gid, nlink, mtime,
// filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check.
// The name (namesize bytes, NUL included) follows, padded to a multiple
// of 4 from the start of the header; then the data, padded likewise.
const (
	newcMagic     = "070701"
	newcHeaderLen = 6 + 13*8
	fieldFileSize = 6
	fieldNameSize = 11
	trailerName   = "TRAILER!!!"
	// maxName is PATH_MAX (include/uapi/linux/limits.h), NUL included;
	// the kernel's unpacker refuses longer names too.
	maxName = 4096
)

// scan walks the headers of a newc archive and checks what u-root's
// reader trusts: the magic, hex fields, a name size from 1 to PATH_MAX with
// a NUL at its end, file data inside the archive, a trailer, and nothing
// but zeros after it. Only then is it safe to hand the archive to the
// reader, which allocates the name size it is told.
func scan(r io.ReaderAt, size int64) error {
	var pos int64
	hdr := make([]byte, newcHeaderLen)
	for {
		if size-pos < newcHeaderLen {
			return fmt.Errorf("%w: no TRAILER!!! record (archive ends at byte %d)", ErrFormat, pos)
		}
		if _, err := r.ReadAt(hdr, pos); err != nil {
			return fmt.Errorf("%w: read header at byte %d: %v", ErrFormat, pos, err)
		}
		if string(hdr[:6]) != newcMagic {
			return fmt.Errorf("%w: bad magic %q at byte %d (want newc %q)", ErrFormat, hdr[:6], pos, newcMagic)
		}
		var fields [13]uint32
		for i := range fields {
			var b [4]byte
			if _, err := hex.Decode(b[:], hdr[6+8*i:6+8*i+8]); err != nil {
				return fmt.Errorf("%w: header at byte %d: field %d is not hex", ErrFormat, pos, i+1)
			}
			fields[i] = binary.BigEndian.Uint32(b[:])
		}
		nameSize, fileSize := int64(fields[fieldNameSize]), int64(fields[fieldFileSize])
		if nameSize < 1 || nameSize > maxName {
			return fmt.Errorf("%w: header at byte %d: name size %d (want 1 to %d)", ErrFormat, pos, nameSize, maxName)
		}
		nameEnd := pos + newcHeaderLen + nameSize
		dataStart := round4(nameEnd)
		if dataStart > size || fileSize > size-dataStart {
			return fmt.Errorf("%w: record at byte %d runs past the end of the archive", ErrFormat, pos)
		}
		name := make([]byte, nameSize)
		if _, err := r.ReadAt(name, pos+newcHeaderLen); err != nil {
			return fmt.Errorf("%w: read name at byte %d: %v", ErrFormat, pos, err)
		}
		if name[nameSize-1] != 0 {
			return fmt.Errorf("%w: name at byte %d is not NUL-terminated", ErrFormat, pos)
		}
		pos = round4(dataStart + fileSize)
		if string(name[:nameSize-1]) == trailerName {
			return zerosAfter(r, min(pos, size), size)
		}
	}
}

func zerosAfter(r io.ReaderAt, pos, size int64) error {
	buf := make([]byte, 32<<10)
	for pos < size {
		n := min(int64(len(buf)), size-pos)
		if _, err := r.ReadAt(buf[:n], pos); err != nil {
			return fmt.Errorf("%w: read at byte %d: %v", ErrFormat, pos, err)
		}
		for i, b := range buf[:n] {
			if b != 0 {
				return fmt.Errorf("%w: data after the trailer at byte %d (concatenated archives are not supported)", ErrFormat, pos+int64(i))
			}
		}
		pos += n
	}
	return nil
}

func round4(n int64) int64 { return (n + 3) &^ 3 }
