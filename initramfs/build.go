package initramfs

import (
	"context"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// Result describes a built image.
type Result struct {
	// Full is true for a full (mkuimage) image.
	Full bool `json:"full"`
	// Size is the archive's length in bytes; Files its number of records
	// (the trailer not counted).
	Size  int64 `json:"size"`
	Files int   `json:"files"`
	// Digests is the archive's digest in every bank of Banks.
	Digests tpm.Digests `json:"digests"`
	// Measurement is the image's contribution when measured as an initrd.
	Measurement *Contribution `json:"measurement"`
	// Config is the init configuration inside the image.
	Config Config `json:"config"`
	// Warnings are problems that do not stop the build (a policy entry
	// whose kernel is not in the image).
	Warnings []string `json:"warnings,omitempty"`
}

// Build writes a reproducible initramfs (newc cpio) to w: a minimal image
// (slkit as /init) by default, a full one with WithFull. All inputs are
// checked before anything is built; errors wrap ErrInput (bad input) or
// ErrBuild (go build or mkuimage failed). On error w may hold part of an
// archive: BuildFile is the way to write a file.
func Build(ctx context.Context, w io.Writer, opts ...Option) (*Result, error) {
	cfg, in, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	return build(ctx, cfg, in, w)
}

// BuildFile is Build into the file at path, written atomically: on any
// error nothing is left at path (an existing file is untouched).
func BuildFile(ctx context.Context, path string, opts ...Option) (*Result, error) {
	cfg, in, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	var res *Result
	var berr error
	err = fsys.Write(fsys.OS{}, path, 0o644, func(w io.Writer) error {
		res, berr = build(ctx, cfg, in, w)
		return berr
	})
	if berr != nil {
		return nil, berr
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func prepare(opts []Option) (*buildConfig, *inputs, error) {
	cfg := defaultBuildConfig()
	for _, o := range opts {
		o(&cfg)
	}
	in, err := gather(&cfg)
	if err != nil {
		return nil, nil, err
	}
	return &cfg, in, nil
}

func build(ctx context.Context, cfg *buildConfig, in *inputs, w io.Writer) (*Result, error) {
	tmp, err := os.MkdirTemp(cfg.tempDir, "slkit-initramfs-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBuild, err)
	}
	defer os.RemoveAll(tmp)
	var files openFiles
	defer files.closeAll()

	recs, err := in.records(&files)
	if err != nil {
		return nil, err
	}
	if cfg.full {
		recs, err = fullRecords(ctx, cfg, in, tmp, recs, &files)
	} else {
		recs, err = minimalRecords(ctx, cfg, in, tmp, recs, &files)
	}
	if err != nil {
		return nil, err
	}
	canon, err := canonical(recs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}

	hs := make([]hash.Hash, len(Banks))
	ws := []io.Writer{w}
	for i, a := range Banks {
		if hs[i], err = a.New(); err != nil {
			return nil, err
		}
		ws = append(ws, hs[i])
	}
	cw := &countWriter{w: io.MultiWriter(ws...)}
	if err := writeArchive(cw, canon); err != nil {
		return nil, fmt.Errorf("write archive: %w", err)
	}
	res := &Result{Full: cfg.full, Size: cw.n, Files: len(canon), Digests: tpm.Digests{}, Config: in.config, Warnings: in.warnings}
	for i, a := range Banks {
		res.Digests[a] = hs[i].Sum(nil)
	}
	if res.Measurement, err = InitrdContribution(res.Digests); err != nil {
		return nil, err
	}
	return res, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
