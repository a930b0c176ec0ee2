package initramfs

import (
	"context"

	"github.com/u-root/u-root/pkg/cpio"
)

// minimalRecords adds slkit as /init: the prebuilt binary, or one built
// from source with goBuildFlags.
func minimalRecords(ctx context.Context, cfg *buildConfig, in *inputs, tmp string, recs []cpio.Record, files *openFiles) ([]cpio.Record, error) {
	bin := in.slkitBin
	if bin == "" {
		var err error
		if bin, err = buildSlkit(ctx, cfg, in.source, tmp); err != nil {
			return nil, err
		}
	}
	r, err := files.record(bin, rel(InitPath))
	if err != nil {
		return nil, err
	}
	r.Mode = cpio.S_IFREG | 0o755
	return append(recs, r), nil
}
