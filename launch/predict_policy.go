package launch

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io/fs"

	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// PolicyEntry returns entry pe of the signed policy file signed as Launch
// measures it, for a prediction: the policy file's exact bytes, the
// entry's command line, the key it verified under (pub), and its kernel and initrd pinned by the SHA-256
// the policy gives (Image.Pinned, named by their paths in the policy).
// With fsys nil no image is read, so the entry predicts the SHA-256 bank
// only (another bank is ErrNeedImage). With fsys, the images are read from
// it at the policy's paths, as Launch's WithFS reads them, and must match
// the pins; done closes them.
func PolicyEntry(signed []byte, pub ed25519.PublicKey, pe *policy.Entry, fsys fs.FS) (e *Entry, done func(), err error) {
	key, err := PolicyKeyBytes(pub)
	if err != nil {
		return nil, nil, err
	}
	done = func() {}
	if fsys != nil {
		st, err := stageEntry(fsys, pe, signed)
		if err != nil {
			return nil, nil, err
		}
		e, done = st.Entry(), func() { st.Close() }
	} else {
		e = &Entry{Kernel: Image{Name: pe.Kernel.Path}, Cmdline: pe.Cmdline, Policy: signed}
		if pe.Initrd != nil {
			e.Initrd = &Image{Name: pe.Initrd.Path}
		}
	}
	pins := []struct {
		im  *Image
		pin *policy.Image
	}{{&e.Kernel, &pe.Kernel}, {e.Initrd, pe.Initrd}}
	for _, p := range pins {
		if p.pin == nil {
			continue
		}
		d, err := hex.DecodeString(p.pin.SHA256)
		if err != nil || len(d) != tpm.SHA256.Size() {
			done()
			return nil, nil, fmt.Errorf("%w: policy entry %q: %s: bad sha256 %q", ErrEntry, pe.Name, p.pin.Path, p.pin.SHA256)
		}
		p.im.Pinned = tpm.Digests{tpm.SHA256: d}
	}
	e.PolicyKey = key
	return e, done, nil
}
