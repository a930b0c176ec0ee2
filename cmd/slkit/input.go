package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/edkey"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// inputKind is a kind of input file and its size limit. Every file a
// command reads whole is read with readInput and its kind, which refuses
// a larger file, or anything but a regular file (a device such as
// /dev/zero, a FIFO, a directory), before reading more than the limit, and
// before the command opens the TPM. Kernel and initrd images (and pcr
// extend --data) are streamed instead: openInput.
type inputKind struct {
	what string
	max  int64
	// emptyOK: an empty file is a valid input of the kind.
	emptyOK bool
}

// The limits, one per kind of input (README.md, "Files: input limits and
// writes"). Each is the limit of the package that parses the format.
var (
	inSecret    = inputKind{what: "secret", max: tpm.MaxSecret}
	inPIN       = inputKind{what: "PIN file", max: tpm.MaxPIN + 2} // a trailing CR LF
	inPolicyDoc = inputKind{what: "policy document", max: policy.MaxPolicySize}
	inSigned    = inputKind{what: "signed policy", max: policy.MaxEnvelopeSize}
	inKey       = inputKind{what: "key file", max: edkey.MaxFileSize}
	// A journal key file: PEM or raw, or a sealed private key (`efi
	// keygen --seal-pcrs`: a sealed file with its expected events).
	inJournalKey = inputKind{what: "journal key file", max: 64 << 10}
	inSealed     = inputKind{what: "sealed file", max: tpm.MaxSealedSize}
	inJournal    = inputKind{what: "EFI journal", max: journal.MaxBytes}
	inState      = inputKind{what: "EFI journal state file", max: journal.MaxStateBytes}
	inVarData    = inputKind{what: "variable data", max: journal.MaxBytes}
	inEventLog   = inputKind{what: "event log", max: tpm.MaxEventLogSize}
	inPCRValues  = inputKind{what: "PCR values", max: tpm.MaxExpectedSize}
	inRecording  = inputKind{what: "platform recording", max: 16 << 20}
	inDCE        = inputKind{what: "DCE module (SINIT ACM or SKL)", max: 16 << 20}
	inDRTMLog    = inputKind{what: "DRTM log", max: slaunch.MaxLeaveLogSize}
	inHandover   = inputKind{what: "hand-over file", max: 16 << 20, emptyOK: true}
)

// readInput reads an input file of kind k: a missing, unreadable, empty,
// oversized or non-regular file is an input error naming the file.
func readInput(path string, k inputKind) ([]byte, error) {
	if path == "" {
		return nil, usageError{errors.New("missing file name")}
	}
	b, err := fsys.OS{}.ReadFile(path, k.max)
	if err != nil {
		return nil, inputError{path, k.problem(err)}
	}
	if len(b) == 0 && !k.emptyOK {
		return nil, inputError{path, errors.New("empty file")}
	}
	return b, nil
}

// readParsed reads an input file of kind k and parses it: an error of
// either names the file.
func readParsed[T any](path string, k inputKind, parse func([]byte) (T, error)) (T, error) {
	var zero T
	b, err := readInput(path, k)
	if err != nil {
		return zero, err
	}
	v, err := parse(b)
	if err != nil {
		return zero, inputError{path, err}
	}
	return v, nil
}

// readArg reads the input path of kind k, or standard input for "-"
// (through the same limit).
func (e *env) readArg(path string, k inputKind) ([]byte, error) {
	if path != "-" {
		return readInput(path, k)
	}
	b, err := fsys.ReadLimited(e.stdin, "stdin", k.max)
	if err != nil {
		return nil, inputError{"stdin", k.problem(err)}
	}
	return b, nil
}

// checkInput makes readInput's checks on a file that a package reads
// later itself (the EFI journal and its state), so that a bad one is
// refused before the TPM is opened; a missing file passes when missingOK.
func checkInput(path string, k inputKind, missingOK bool) error {
	if path == "" {
		return nil
	}
	_, err := fsys.OS{}.ReadFile(path, k.max)
	if err == nil || missingOK && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return inputError{path, k.problem(err)}
}

// problem says what is wrong with an input of kind k (without the path,
// which the caller puts first).
func (k inputKind) problem(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fsys.ErrTooLarge) {
		return fmt.Errorf("%s %w (the limit of a %s)", k.what, err, k.what)
	}
	return err
}

// pathError is an input error naming path, for the error of a file
// operation on it (without the *fs.PathError's own operation and path).
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return inputError{path, err}
}

// openInput opens an input file for streaming: a regular file only, and a
// FIFO is refused rather than waited on.
func openInput(path string) (*os.File, error) {
	if path == "" {
		return nil, usageError{errors.New("missing file name")}
	}
	f, err := fsys.OpenRegular(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	return f, nil
}

// checkOutput refuses, before any irreversible step, an output path that
// the atomic writer would refuse (a symbolic link, a non-regular file) or
// whose directory takes no new file. "-" is standard output.
func checkOutput(path string) error {
	if path == "-" {
		return nil
	}
	if err := fsys.CheckWritable(fsys.OS{}, path); err != nil {
		return pathError(path, err)
	}
	return nil
}

// writeOutput replaces path atomically with data (mode perm), or writes
// data to standard output for "-". A secret is never written to a
// terminal.
func (e *env) writeOutput(path string, data []byte, perm os.FileMode, secret bool) error {
	if path != "-" {
		return fsys.WriteFile(fsys.OS{}, path, data, perm)
	}
	if secret && e.stdoutIsTerminal() {
		return usageError{errors.New("refusing to write the secret to a terminal: use --out FILE or a pipe")}
	}
	_, err := e.stdout.Write(data)
	return err
}
