package nextboot

import (
	"crypto/ed25519"
	"errors"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// Files are the inputs of a prediction of the next boot that are files
// (`slkit predict --firmware-log`, `slkit update prepare
// --firmware-log`).
type Files struct {
	// FirmwareLog is this boot's firmware event log (required).
	FirmwareLog string
	// Image measures the image the next boot starts in the log's banks
	// (EventLog.HashableAlgs); nil: the image booted now.
	Image func(banks []tpm.Alg) (*Image, error)
	// Journal is the journal whose pending entries the next boot commits
	// ("" for none), State its state file, and Pub the key it is
	// verified with (nil: not verified).
	Journal, State string
	Pub            ed25519.PublicKey
	// EFIVars is an efivarfs directory to read the variables the log
	// does not show from (a Boot#### a new BootOrder names; "" for none).
	EFIVars string
}

// PredictFiles reads f's files and predicts the next boot (Predict). A
// firmware log that cannot be read, or that Predict refuses (ErrLog), is
// an *fsys.InputError naming it.
func PredictFiles(f Files) (*Prediction, error) {
	l, err := fsys.ReadInput(tpm.EventLogInput, f.FirmwareLog, tpm.ParseEventLog)
	if err != nil {
		return nil, err
	}
	var opts []Option
	if f.Image != nil {
		img, err := f.Image(l.HashableAlgs())
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithImage(img))
	}
	if f.Journal != "" {
		lst, err := journal.Inspect(f.Journal, f.State, f.Pub)
		if err != nil {
			return nil, err
		}
		if lst != nil {
			opts = append(opts, WithChanges(PendingChanges(lst, f.Journal)...))
		}
	}
	if f.EFIVars != "" {
		v, err := efi.OpenDir(f.EFIVars)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithVars(v))
	}
	p, err := Predict(l, opts...)
	if errors.Is(err, ErrLog) {
		return nil, &fsys.InputError{Path: f.FirmwareLog, Err: err}
	}
	return p, err
}
