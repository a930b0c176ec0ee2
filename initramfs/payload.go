package initramfs

import (
	"fmt"
	"path"
	"strings"
)

// Payload is a host file copied into the image (--add SRC:DST): a target
// kernel, a target initrd, anything the run command needs.
type Payload struct {
	// Src is the file on the host.
	Src string
	// Dst is the absolute path in the image.
	Dst string
}

// ParseAdd parses "SRC:DST". The last colon separates the two, so a host
// path may contain colons; DST must be absolute and clean, and may not
// be the root or a path the image itself uses (/init, /dev, /proc, /sys,
// /run, /tmp, /etc/slkit, /lib/modules, and in full images /bbin,
// /bin/uinit, /etc/uinit.flags). Parent directories are created.
func ParseAdd(spec string) (Payload, error) {
	i := strings.LastIndexByte(spec, ':')
	if i <= 0 || i == len(spec)-1 {
		return Payload{}, fmt.Errorf("%w: --add %q: want SRC:DST", ErrInput, spec)
	}
	p := Payload{Src: spec[:i], Dst: spec[i+1:]}
	return p, p.validate()
}

func (p Payload) validate() error {
	d := p.Dst
	switch {
	case p.Src == "":
		return fmt.Errorf("%w: --add %s: empty source", ErrInput, d)
	case !path.IsAbs(d):
		return fmt.Errorf("%w: --add %s:%s: destination %q is not absolute", ErrInput, p.Src, d, d)
	case path.Clean(d) != d || d == "/":
		return fmt.Errorf("%w: --add %s:%s: destination %q is not a clean file path", ErrInput, p.Src, d, d)
	case strings.ContainsRune(d, 0):
		return fmt.Errorf("%w: --add %s: destination contains NUL", ErrInput, p.Src)
	}
	for _, r := range reserved {
		if d == r || strings.HasPrefix(d, r+"/") {
			return fmt.Errorf("%w: --add %s:%s: %s is reserved for the image's own files", ErrInput, p.Src, d, r)
		}
	}
	return nil
}
