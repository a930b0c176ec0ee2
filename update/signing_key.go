package update

import (
	"crypto/ed25519"
	"fmt"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// SigningKeyFile is the journal signing key file of `slkit efi queue
// --key`, read but not yet parsed: a sealed file (what `efi keygen
// --seal-pcrs` writes, SealKey), or a plain key, raw or PEM
// (journal.ParsePrivateKey).
type SigningKeyFile struct {
	// Path names the file in errors ("-": standard input).
	Path string
	// Data is the file's content, read through journal.KeyInput.
	Data []byte
	// EventLogs are the event log files that explain a refused unseal of
	// a sealed key (tpm.ExplainingLogs; none: the firmware's log, if
	// readable).
	EventLogs []string
	// OpenTPM opens the TPM that unseals a sealed key; it is called only
	// for one, and the TPM is closed before Key returns.
	OpenTPM func() (*tpm.Conn, error)
}

// Key is the private key the file holds: a plain key parsed
// (journal.ParseKeyFile), or a sealed one unsealed on the TPM (UnsealKey),
// so that only the launch it is sealed to can sign. A sealed file that
// does not parse is an *fsys.InputError naming it; an unseal that fails,
// or a TPM that does not open, is an error naming it.
func (f *SigningKeyFile) Key() (ed25519.PrivateKey, error) {
	if !IsSealedKey(f.Data) {
		return journal.ParseKeyFile(f.Path, f.Data, journal.ParsePrivateKey)
	}
	s, err := tpm.ParseSealed(f.Data)
	if err != nil {
		return nil, &fsys.InputError{Path: f.Path, Err: err}
	}
	logs, problem, err := tpm.ExplainingLogs(f.EventLogs)
	if err != nil {
		return nil, err
	}
	key, err := f.unseal(s, tpm.WithEventLogs(logs...), tpm.WithLogUnavailable(problem))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return key, nil
}

// unseal opens the TPM, unseals s on it (UnsealKey) and closes it.
func (f *SigningKeyFile) unseal(s *tpm.Sealed, opts ...tpm.UnsealOption) (ed25519.PrivateKey, error) {
	t, err := f.OpenTPM()
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return UnsealKey(t, s, opts...)
}
