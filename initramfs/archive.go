package initramfs

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// The canonical form of an archive, which makes the same files give the
// same bytes whatever the host, the time or the order they came in:
//
//   - records sorted by name (bytewise), so every directory comes before
//     what it holds; missing parent directories are added (mode 0755),
//     because the kernel's unpacker does not create them (init/initramfs.c);
//   - names relative to the root, cleaned ("a/b", never "/a/b" or "a//b");
//   - owner 0:0, mtime 0, device numbers of the archiving host 0;
//   - inode numbers 1, 2, 3, … in that order, link count 2 for directories
//     and 1 for everything else (the kernel looks at inode numbers only for
//     hard links, which need a link count of 2 or more);
//   - mode: the file type and the permission bits (including setuid,
//     setgid, sticky) as given; rdev only for device nodes;
//   - the newc format ("070701", no checksum), as u-root's pkg/cpio writes it,
//     ending with the TRAILER!!! record.
//
// The newc header is described in the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst.

// canonical returns recs in canonical form. It fails on a name that
// leaves the root, a name given twice, a type newc cannot carry, or a
// hard link.
func canonical(recs []cpio.Record) ([]cpio.Record, error) {
	out := make([]cpio.Record, 0, len(recs))
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		name, err := cleanName(r.Name)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: %q appears twice", ErrFormat, name)
		}
		seen[name] = true
		c, err := canonicalRecord(name, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	for _, r := range out[:len(out):len(out)] {
		for d := path.Dir(r.Name); d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, cpio.Record{Info: cpio.Info{Name: d, Mode: cpio.S_IFDIR | 0o755, NLink: 2}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	isDir := make(map[string]bool, len(out))
	for i := range out {
		out[i].Ino = uint64(i + 1)
		isDir[out[i].Name] = out[i].Mode&cpio.S_IFMT == cpio.S_IFDIR
		if d := path.Dir(out[i].Name); d != "." && !isDir[d] {
			return nil, fmt.Errorf("%w: %q is inside %q, which is not a directory", ErrFormat, out[i].Name, d)
		}
	}
	return out, nil
}

func canonicalRecord(name string, r cpio.Record) (cpio.Record, error) {
	mode := r.Mode & (cpio.S_IFMT | 0o7777)
	info := cpio.Info{Name: name, Mode: mode, NLink: 1}
	switch mode & cpio.S_IFMT {
	case cpio.S_IFREG, cpio.S_IFLNK:
		if mode&cpio.S_IFMT == cpio.S_IFREG && r.NLink > 1 {
			return cpio.Record{}, fmt.Errorf("%w: %q is a hard link (link count %d), which the canonical form does not carry", ErrFormat, name, r.NLink)
		}
		info.FileSize = r.FileSize
		if r.ReaderAt == nil {
			info.FileSize = 0
		}
		return cpio.Record{ReaderAt: r.ReaderAt, Info: info}, nil
	case cpio.S_IFDIR:
		info.NLink = 2
	case cpio.S_IFCHR, cpio.S_IFBLK:
		info.Rmajor, info.Rminor = r.Rmajor, r.Rminor
	case cpio.S_IFIFO, cpio.S_IFSOCK:
	default:
		return cpio.Record{}, fmt.Errorf("%w: %q has unknown file type %#o", ErrFormat, name, mode&cpio.S_IFMT)
	}
	return cpio.Record{Info: info}, nil
}

// cleanName makes a record name relative to the root and clean, and
// refuses names that would leave the root or could not be a path.
func cleanName(n string) (string, error) {
	if strings.ContainsRune(n, 0) || len(n) >= maxName {
		return "", fmt.Errorf("%w: bad name %q", ErrFormat, n)
	}
	c := cpio.Normalize(n)
	if c == ".." || strings.HasPrefix(c, "../") || c == "" {
		return "", fmt.Errorf("%w: name %q leaves the root", ErrFormat, n)
	}
	return c, nil
}

// writeArchive writes recs, which must be canonical, and the trailer.
func writeArchive(w io.Writer, recs []cpio.Record) error {
	cw := cpio.Newc.Writer(w)
	if err := cpio.WriteRecords(cw, recs); err != nil {
		return err
	}
	return cpio.WriteTrailer(cw)
}

// Normalize reads the newc archive in r (size bytes) and writes it to w in
// the canonical form described above: the same files give the same bytes.
// It is how the output of mkuimage is made reproducible. The archive must
// end with a TRAILER!!! record, followed by nothing but zero padding.
func Normalize(w io.Writer, r io.ReaderAt, size int64) error {
	recs, err := readArchive(r, size)
	if err != nil {
		return err
	}
	c, err := canonical(recs)
	if err != nil {
		return err
	}
	return writeArchive(w, c)
}

// readArchive checks the archive's framing with scan, then reads its
// records with u-root's newc reader (whose contents are sections of r).
func readArchive(r io.ReaderAt, size int64) ([]cpio.Record, error) {
	if err := scan(r, size); err != nil {
		return nil, err
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(io.NewSectionReader(r, 0, size)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return recs, nil
}
