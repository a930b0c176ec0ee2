package initramfs

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// maxModuleSize bounds a decompressed module (the largest modules of a
// distribution kernel are a few MiB).
const maxModuleSize = 64 << 20

// module is a kernel module ready for the image.
type module struct {
	dst  string // absolute path in the image
	data []byte // uncompressed ELF relocatable object
}

// readModule reads a kernel module. Compressed modules (.ko.gz, .ko.xz,
// .ko.zst, as kmod names them) are decompressed here, at build time:
// finit_module(2) accepts compressed modules only from Linux 6.4 on
// (MODULE_INIT_COMPRESSED_FILE), and the Debian 6.1 kernel the rig boots
// ships them uncompressed anyway (CONFIG_MODULE_COMPRESS_NONE). A module
// signature (appended to the ELF object) is kept as it is: distributions
// sign the uncompressed object, so decompressing does not break it.
func readModule(src string) (module, error) {
	f, err := os.Open(src)
	if err != nil {
		return module{}, fmt.Errorf("%w: module %s: %v", ErrInput, src, unwrapPath(err))
	}
	defer f.Close()
	base := filepath.Base(src)
	var r io.Reader = f
	switch {
	case strings.HasSuffix(base, ".ko"):
	case strings.HasSuffix(base, ".ko.gz"):
		zr, err := gzip.NewReader(f)
		if err != nil {
			return module{}, fmt.Errorf("%w: module %s: %v", ErrInput, src, err)
		}
		r = zr
	case strings.HasSuffix(base, ".ko.xz"):
		zr, err := xz.NewReader(f)
		if err != nil {
			return module{}, fmt.Errorf("%w: module %s: %v", ErrInput, src, err)
		}
		r = zr
	case strings.HasSuffix(base, ".ko.zst"):
		zr, err := zstd.NewReader(f)
		if err != nil {
			return module{}, fmt.Errorf("%w: module %s: %v", ErrInput, src, err)
		}
		defer zr.Close()
		r = zr
	default:
		return module{}, fmt.Errorf("%w: module %s: want a .ko, .ko.gz, .ko.xz or .ko.zst file", ErrInput, src)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxModuleSize+1))
	switch {
	case err != nil:
		return module{}, fmt.Errorf("%w: module %s: %v", ErrInput, src, unwrapPath(err))
	case len(data) > maxModuleSize:
		return module{}, fmt.Errorf("%w: module %s: larger than %d MiB", ErrInput, src, maxModuleSize>>20)
	case !bytes.HasPrefix(data, []byte("\x7fELF")):
		return module{}, fmt.Errorf("%w: module %s: not an ELF object (not a kernel module)", ErrInput, src)
	}
	name := base[:strings.Index(base, ".ko")] + ".ko"
	return module{dst: path.Join(ModulesDir, name), data: data}, nil
}
