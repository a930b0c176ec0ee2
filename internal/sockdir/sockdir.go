// Package sockdir chooses where a program's unix sockets go: next to its
// other files when the paths fit in a socket address, otherwise in a fresh
// short directory.
package sockdir

import (
	"fmt"
	"os"
	"path/filepath"
)

// MaxPath is the longest unix socket path the kernel accepts: sun_path is
// 108 bytes including the terminating NUL (unix(7)).
const MaxPath = 107

// For returns the directory for sockets whose longest file name is
// longest: dir itself when dir/longest fits in MaxPath, otherwise a new
// directory under the system temporary directory (or /tmp) that fits.
// remove deletes the directory For made and does nothing otherwise.
func For(dir, longest string) (sock string, remove func(), err error) {
	if len(filepath.Join(dir, longest)) <= MaxPath {
		return dir, func() {}, nil
	}
	for _, base := range []string{os.TempDir(), "/tmp"} {
		d, err := os.MkdirTemp(base, "sk")
		if err != nil {
			continue
		}
		if len(filepath.Join(d, longest)) <= MaxPath {
			return d, func() { os.RemoveAll(d) }, nil
		}
		os.Remove(d)
	}
	return "", nil, fmt.Errorf("no directory short enough for the unix socket %s (%s is %d bytes)", longest, dir, len(dir))
}
