package launch

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/slkit/slkit/internal/errkind"
)

// TargetLogPath is where the launched kernel finds the pre-launch event
// log: a file in its initramfs (rootfs), unpacked from the cpio archive
// slkit appends to the initrd after measuring it. It is a top-level
// directory because initramfs tools mount a tmpfs over /run.
const TargetLogPath = "/slkit/prelaunch-eventlog.bin"

// initrdAlign is where the appended archive starts: the kernel looks for
// an uncompressed newc header only at 4-byte aligned offsets and skips the
// zero padding between concatenated archives (init/initramfs.c); 512 is
// what u-root's CatInitrds uses and also suits compressed initrds.
const initrdAlign = 512

// HandoverDir is the only directory of the launched kernel's initramfs
// that the hand-over archive writes: the event logs and every
// HandoverFile land under it. The archive is not measured, so everything
// under /slkit/ is untrusted input in the target (check it against the
// TPM, or against what the target's own measured image expects), and a
// target image must not ship anything under /slkit/ itself: the archive
// is unpacked over it.
const HandoverDir = "/slkit/"

// HandoverFile is an unmeasured file handed to the launched kernel next to
// the event log, for data whose integrity is enforced otherwise: a sealed
// secret (the TPM releases it only to the measured state) cannot be inside
// the measured initrd, since its policy depends on that initrd's hash.
type HandoverFile struct {
	// Path is a clean absolute path under HandoverDir, in the launched
	// kernel's initramfs.
	Path string
	Data []byte
}

// CheckHandoverPath accepts only a clean absolute path of a file under
// HandoverDir ("/slkit/x", "/slkit/a/b"), without NUL (the kernel's cpio
// unpacker would cut the name there): the unmeasured archive can then
// never replace a file of the measured initrd, /init included.
func CheckHandoverPath(p string) error {
	rel, ok := strings.CutPrefix(p, HandoverDir)
	if !ok || rel == "" || path.Clean(p) != p || strings.ContainsRune(p, 0) {
		return fmt.Errorf("%w: hand-over path %q: want a clean path of a file under %s", ErrEntry, p, HandoverDir)
	}
	return nil
}

// ReadHandover reads the hand-over files of `slkit launch --handover
// SRC:DST` arguments: the file SRC (HandoverInput) handed over at DST
// (CheckHandoverPath). A malformed argument is an errkind.Input error
// naming it, a file that cannot be read an *fsys.InputError.
func ReadHandover(args []string) ([]HandoverFile, error) {
	var out []HandoverFile
	for _, a := range args {
		src, dst, ok := strings.Cut(a, ":")
		if !ok || src == "" {
			return nil, errkind.Errorf(errkind.Input, "--handover %q: want SRC:DST", a)
		}
		if err := CheckHandoverPath(dst); err != nil {
			return nil, errkind.Errorf(errkind.Input, "--handover %q: %w", a, err)
		}
		b, err := HandoverInput.Read(src)
		if err != nil {
			return nil, err
		}
		out = append(out, HandoverFile{Path: dst, Data: b})
	}
	return out, nil
}

// LogCpio returns a newc cpio archive holding the event log at
// TargetLogPath (mode 0444, owner root, mtime 0: the same log gives the
// same bytes).
func LogCpio(log []byte) ([]byte, error) { return HandoverCpio(log) }

// HandoverCpio returns a newc cpio archive holding the event log at
// TargetLogPath and the extra files (mode 0444, with their directories),
// reproducibly. Every path must pass CheckHandoverPath.
func HandoverCpio(log []byte, files ...HandoverFile) ([]byte, error) {
	var b bytes.Buffer
	w := cpio.Newc.Writer(&b)
	all := append([]HandoverFile{{Path: TargetLogPath, Data: log}}, files...)
	var recs []cpio.Record
	dirs, regular := map[string]bool{}, map[string]bool{}
	for _, f := range all {
		if err := CheckHandoverPath(f.Path); err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(f.Path, "/")
		var parents []string
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			if regular[d] {
				return nil, fmt.Errorf("%w: hand-over path %q lies under the file %q", ErrEntry, f.Path, "/"+d)
			}
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			recs = append(recs, cpio.Directory(d, 0o755))
		}
		if dirs[name] || regular[name] {
			return nil, fmt.Errorf("%w: hand-over path %q given twice, or as a file and a directory", ErrEntry, f.Path)
		}
		regular[name] = true
		recs = append(recs, cpio.StaticRecord(f.Data, cpio.Info{Name: name, Mode: cpio.S_IFREG | 0o444, NLink: 1}))
	}
	for i := range recs {
		recs[i].Ino = uint64(i + 1)
		recs[i] = cpio.MakeReproducible(recs[i])
	}
	if err := cpio.WriteRecords(w, recs); err != nil {
		return nil, fmt.Errorf("event log cpio: %w", err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, fmt.Errorf("event log cpio: %w", err)
	}
	return b.Bytes(), nil
}
