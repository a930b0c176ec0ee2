// Package readlimit reads a file whose size is bounded, refusing a larger
// one before reading it: the size limit of an untrusted input is enforced
// before the input is read.
package readlimit

import (
	"fmt"
	"io"
	"os"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrTooLarge is a file over the limit.
var ErrTooLarge = errkind.New(errkind.Input, "file too large")

// ReadFile reads path if it holds at most max bytes. The size is checked
// with fstat first, and the read is bounded too, for files whose size
// fstat does not know (securityfs and sysfs files report 0). Errors from
// opening are *fs.PathError as from os.Open.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrTooLarge, path, st.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: %s is more than %d bytes", ErrTooLarge, path, max)
	}
	return b, nil
}
