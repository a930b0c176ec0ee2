package initramfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/u-root/u-root/pkg/cpio"
)

// urootCore is where u-root's core commands live (pinned in tools.go, so
// they resolve from this module's go.sum).
const urootCore = "github.com/u-root/u-root/cmds/core/"

// FullCommands lists the u-root commands of a full image.
func FullCommands() []string {
	return []string{"init", "gosh", "ls", "cat", "dmesg", "mount", "kexec"}
}

// slkitBinPath is where a full image built with a prebuilt slkit keeps it.
const slkitBinPath = "/bin/slkit"

// mkuimageArgs is the `go tool mkuimage` invocation of a full image (flags
// before packages; an absolute -tmp-dir, which mkuimage requires): u-root's
// init as /init, uinit the slkit command line, and a default shell only
// when a debug shell is wanted (without one, u-root's init has no shell
// to fall back to when the uinit ends).
func mkuimageArgs(tmpDir, out, uinit string, debugShell bool, pkgs []string) []string {
	sh := ""
	if debugShell {
		sh = "gosh"
	}
	args := []string{"tool", "mkuimage", "-tmp-dir", tmpDir, "-o", out,
		"-initcmd=init", "-defaultsh=" + sh, "-uinitcmd=" + uinit, "-go-build-tags=" + ImageBuildTag}
	return append(args, pkgs...)
}

// fullPackages are the packages mkuimage compiles into its busybox.
func fullPackages(withSlkit bool) []string {
	var pkgs []string
	for _, c := range FullCommands() {
		pkgs = append(pkgs, urootCore+c)
	}
	if withSlkit {
		pkgs = append(pkgs, SlkitPackage)
	}
	return pkgs
}

// fullRecords runs mkuimage, reads its archive back and merges ours into
// it; canonical then rewrites the whole reproducibly (mkuimage's own
// archive already has zero mtimes and owners, but its inode numbers and
// order are its own).
func fullRecords(ctx context.Context, cfg *buildConfig, in *inputs, tmp string, ours []cpio.Record, files *openFiles) ([]cpio.Record, error) {
	uinit := "slkit init"
	if in.slkitBin != "" {
		uinit = slkitBinPath + " init"
		r, err := files.record(in.slkitBin, rel(slkitBinPath))
		if err != nil {
			return nil, err
		}
		r.Mode = cpio.S_IFREG | 0o755
		ours = append(ours, r)
	}
	mkTmp := filepath.Join(tmp, "mkuimage")
	if err := os.Mkdir(mkTmp, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBuild, err)
	}
	out := filepath.Join(tmp, "mkuimage.cpio")
	args := mkuimageArgs(mkTmp, out, uinit, in.config.DebugShell, fullPackages(in.slkitBin == ""))
	if err := runTool(ctx, cfg, in.source, "mkuimage", cfg.goCmd, args...); err != nil {
		return nil, err
	}
	f, err := os.Open(out)
	if err != nil {
		return nil, fmt.Errorf("%w: mkuimage output: %v", ErrBuild, err)
	}
	*files = append(*files, f)
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: mkuimage output: %v", ErrBuild, err)
	}
	theirs, err := readArchive(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%w: mkuimage output: %v", ErrBuild, err)
	}
	return merge(theirs, ours)
}

// merge adds ours to theirs. A name both have is taken from ours when
// both are directories (ours set the runtime's modes) or the same device
// node (/dev/console); any other clash is an error, since it would
// replace a file of the u-root image.
func merge(theirs, ours []cpio.Record) ([]cpio.Record, error) {
	out := append([]cpio.Record(nil), theirs...)
	at := make(map[string]int, len(out))
	for i, r := range out {
		at[r.Name] = i
	}
	for _, r := range ours {
		n, err := cleanName(r.Name)
		if err != nil {
			return nil, err
		}
		i, ok := at[n]
		if !ok {
			at[n] = len(out)
			out = append(out, r)
			continue
		}
		if !sameKind(out[i], r) {
			return nil, fmt.Errorf("%w: /%s is already in the u-root image", ErrInput, n)
		}
		out[i] = r
	}
	return out, nil
}

// sameKind reports whether a and b are both directories, or both the same
// device node.
func sameKind(a, b cpio.Record) bool {
	ta, tb := a.Mode&cpio.S_IFMT, b.Mode&cpio.S_IFMT
	switch {
	case ta != tb:
		return false
	case ta == cpio.S_IFDIR:
		return true
	case ta == cpio.S_IFCHR || ta == cpio.S_IFBLK:
		return a.Rmajor == b.Rmajor && a.Rminor == b.Rminor
	}
	return false
}
