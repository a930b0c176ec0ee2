package initramfs

import (
	"github.com/slkit/slkit/internal/errkind"
)

// ErrInput wraps every problem with what the caller asked to put in the
// image: a missing or unreadable --add source, a destination that is not
// absolute or is given twice, an unreadable or unverifiable policy, a
// module that is not a kernel module (the CLI's exit code 1).
var ErrInput = errkind.New(errkind.Input, "bad initramfs input")

// ErrBuild wraps failures of the tools the builder runs: go build for
// slkit, mkuimage for the full image (the CLI's exit code 2).
var ErrBuild = errkind.New(errkind.IO, "initramfs build failed")

// ErrFormat is returned by Normalize for bytes that are not a well-formed
// newc cpio archive, or that hold records the canonical form cannot carry
// (hard links, names that leave the root).
var ErrFormat = errkind.New(errkind.Input, "malformed cpio archive")

// ErrConfig is returned by ParseConfig for an init configuration that is
// not valid JSON of the documented shape.
var ErrConfig = errkind.New(errkind.Input, "bad init configuration")
