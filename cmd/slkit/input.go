package main

import (
	"errors"
	"os"

	"github.com/slkit/slkit/internal/fsys"
)

// Every input file a command reads whole is read through the fsys.Input of
// the package that parses its format (README.md, "Files: input limits and
// writes"; for example tpm.EventLogInput, policy.SignedInput,
// journal.Input): it refuses a larger file, or anything but a regular file
// (a device such as /dev/zero, a FIFO, a directory), before reading more
// than the limit, and before the command opens the TPM. Kernel and initrd
// images (and pcr extend --data) are streamed instead: fsys.OpenInput.

// readArg reads the input path of kind k, or standard input for "-"
// (through the same limit).
func (e *env) readArg(path string, k fsys.Input) ([]byte, error) {
	if path != "-" {
		return k.Read(path)
	}
	return k.ReadStream(e.stdin, "stdin")
}

// writeOutput replaces path atomically with data (mode perm), or writes
// data to standard output for "-". A secret is never written to a
// terminal.
func (e *env) writeOutput(path string, data []byte, perm os.FileMode, secret bool) error {
	if path != "-" {
		return fsys.WriteFile(fsys.OS{}, path, data, perm)
	}
	if secret && e.stdoutIsTerminal() {
		return usage(errors.New("refusing to write the secret to a terminal: use --out FILE or a pipe"))
	}
	_, err := e.stdout.Write(data)
	return err
}
