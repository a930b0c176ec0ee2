package initramfs

import (
	"fmt"
	"io"
	"os"
	"path"

	"github.com/u-root/u-root/pkg/cpio"
)

// records returns the records both kinds of image share: the runtime's
// directories, /dev/console, the init configuration, the policy and its
// key, the modules and the payloads.
func (in *inputs) records(files *openFiles) ([]cpio.Record, error) {
	var recs []cpio.Record
	for _, d := range runtimeDirs {
		recs = append(recs, cpio.Directory(d.name, d.mode))
	}
	recs = append(recs, cpio.CharDev(rel(ConsolePath), 0o600, consoleMajor, consoleMinor))
	cfgJSON, err := in.config.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	recs = append(recs, cpio.StaticFile(rel(ConfigPath), string(cfgJSON), 0o644))
	if in.policy != nil {
		recs = append(recs,
			cpio.StaticFile(rel(PolicyPath), string(in.policy), 0o644),
			cpio.StaticFile(rel(PolicyKeyPath), string(in.policyKey), 0o644))
	}
	for _, m := range in.modules {
		recs = append(recs, cpio.StaticFile(rel(m.dst), string(m.data), 0o644))
	}
	for _, p := range in.payloads {
		r, err := files.record(p.Src, rel(p.Dst))
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// rel turns an absolute image path into a record name.
func rel(p string) string { return path.Clean(p)[1:] }

// openFiles are host files whose contents are copied into the archive as
// it is written; they are closed when the build ends.
type openFiles []*os.File

// record opens src and returns a regular-file record for it. The mode is
// 0755 if the source has any execute bit, else 0644: the host's umask and
// owner do not reach the image.
func (o *openFiles) record(src, name string) (cpio.Record, error) {
	f, err := os.Open(src)
	if err != nil {
		return cpio.Record{}, fmt.Errorf("%w: %s: %v", ErrInput, src, unwrapPath(err))
	}
	*o = append(*o, f)
	st, err := f.Stat()
	if err != nil {
		return cpio.Record{}, fmt.Errorf("%w: %s: %v", ErrInput, src, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return cpio.Record{}, fmt.Errorf("%w: %s: not a regular file", ErrInput, src)
	}
	perm := uint64(0o644)
	if st.Mode().Perm()&0o111 != 0 {
		perm = 0o755
	}
	// A plain ReaderAt (not the *os.File, which the cpio writer would
	// close): the file is closed once, by closeAll.
	return cpio.Record{
		ReaderAt: io.NewSectionReader(f, 0, st.Size()),
		Info:     cpio.Info{Name: name, Mode: cpio.S_IFREG | perm, FileSize: uint64(st.Size())},
	}, nil
}

func (o *openFiles) closeAll() {
	for _, f := range *o {
		f.Close()
	}
	*o = nil
}
