package main

import (
	"errors"
	"os"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/edkey"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// The limits, one per kind of input file a command reads whole
// (README.md, "Files: input limits and writes"), each the limit of the
// package that parses the format: fsys.Input.Read refuses a larger file,
// or anything but a regular file (a device such as /dev/zero, a FIFO, a
// directory), before reading more than the limit, and before the command
// opens the TPM. Kernel and initrd images (and pcr extend --data) are
// streamed instead: fsys.OpenInput. The package that owns a format may
// declare its input itself (tpm.EventLogInput, tpm.SealedInput,
// tpm.PINInput).
var (
	inSecret    = fsys.Input{What: "secret", Max: tpm.MaxSecret}
	inPolicyDoc = fsys.Input{What: "policy document", Max: policy.MaxPolicySize}
	inSigned    = fsys.Input{What: "signed policy", Max: policy.MaxEnvelopeSize}
	inKey       = fsys.Input{What: "key file", Max: edkey.MaxFileSize}
	// A journal key file: PEM or raw, or a sealed private key (`efi
	// keygen --seal-pcrs`: a sealed file with its expected events).
	inJournalKey = fsys.Input{What: "journal key file", Max: 64 << 10}
	inJournal    = fsys.Input{What: "EFI journal", Max: journal.MaxBytes}
	inState      = fsys.Input{What: "EFI journal state file", Max: journal.MaxStateBytes}
	inVarData    = fsys.Input{What: "variable data", Max: journal.MaxBytes}
	inPCRValues  = fsys.Input{What: "PCR values", Max: tpm.MaxExpectedSize}
	inRecording  = fsys.Input{What: "platform recording", Max: 16 << 20}
	inDCE        = fsys.Input{What: "DCE module (SINIT ACM or SKL)", Max: 16 << 20}
	inDRTMLog    = fsys.Input{What: "DRTM log", Max: slaunch.MaxLeaveLogSize}
	inHandover   = fsys.Input{What: "hand-over file", Max: 16 << 20, EmptyOK: true}
)

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
