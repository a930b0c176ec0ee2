package journal

import (
	"errors"

	"github.com/slkit/slkit/internal/fsys"
)

// ParseKeyFile parses b, the content of the key file at path read through
// KeyInput (path "-": standard input), with parse (ParsePublicKey,
// ParsePrivateKey). An empty standard input and a key parse refuses are
// *fsys.InputErrors naming the file ("stdin" for "-").
func ParseKeyFile[K any](path string, b []byte, parse func([]byte) (K, error)) (K, error) {
	var zero K
	if path == "-" {
		path = "stdin"
	}
	if len(b) == 0 {
		problem := "empty file"
		if path == "stdin" {
			problem = "no key on standard input"
		}
		return zero, &fsys.InputError{Path: path, Err: errors.New(problem)}
	}
	k, err := parse(b)
	if err != nil {
		return zero, &fsys.InputError{Path: path, Err: err}
	}
	return k, nil
}
