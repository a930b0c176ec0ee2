package update

import (
	"crypto/ed25519"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/tpm"
)

// Update is an update to prepare (`slkit update prepare`): the journal
// to commit, how the next launch is reached, and the sealed files to
// carry across.
type Update struct {
	// Journal and State are the journal's files; Pub, when given, the key
	// its signature is verified with; JournalOptions its anchor
	// (journal.WithAnchor).
	Journal, State string
	Pub            ed25519.PublicKey
	JournalOptions []journal.Option
	// Via is how the next launch is reached.
	Via Via
	// Files are the sealed files, each replaced.
	Files []File
	// Firmware is the prediction of the next boot's firmware PCRs (nil:
	// none), FirmwareLog the log it was predicted from.
	Firmware    *nextboot.Prediction
	FirmwareLog string
}

// PrepareUpdate checks u's journal (CheckJournal) and that it fits u.Via
// (Pending.CheckVia), then prepares each file (PrepareFiles, replacing it
// in fs) for the PCRs the journal's changes are measured into
// (WithChangedPCRs), through u.Via (WithVia) and with the firmware
// prediction when there is one (WithFirmware). The result reports the
// journal, the firmware prediction and each file's plan.
func PrepareUpdate(t tpm.TPMSender, fs fsys.FS, u Update, opts ...Option) (*Prepared, error) {
	opts = append([]Option{WithVia(u.Via)}, opts...)
	rep := &Prepared{}
	if u.Firmware != nil {
		x := u.Firmware.Expected()
		opts, rep.Firmware = append(opts, WithFirmware(&x)), u.Firmware.Report(u.FirmwareLog)
	}
	var err error
	if rep.Journal, err = CheckJournal(u.Journal, u.State, u.Pub, u.JournalOptions...); err != nil {
		return nil, err
	}
	if err := rep.Journal.CheckVia(u.Via); err != nil {
		return nil, err
	}
	if rep.Files, err = PrepareFiles(t, fs, u.Files, append(opts, WithChangedPCRs(rep.Journal.PCRs...))...); err != nil {
		return nil, err
	}
	return rep, nil
}
