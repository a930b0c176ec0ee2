package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// DefaultLogPath is where the pre-launch environment keeps its event log
// (slkit measure --log and slkit launch --log default to it).
const DefaultLogPath = "/run/slkit/prelaunch-eventlog.bin"

// loadLog reads the pre-launch event log at path (at most
// tpm.MaxEventLogSize bytes of a regular file), or starts a new
// crypto-agile log whose Spec ID header lists banks when there is none.
func loadLog(path string, banks []tpm.Alg) (*tpm.EventLog, error) {
	b, err := fsys.OS{}.ReadFile(path, tpm.MaxEventLogSize)
	if errors.Is(err, fs.ErrNotExist) {
		return tpm.NewEventLog(banks)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrLog, path, err)
	}
	l, err := tpm.ParseEventLog(b)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrLog, path, err)
	}
	if l.Format != tpm.FormatCryptoAgile {
		return nil, fmt.Errorf("%w %s: a %s log cannot record every bank; want a crypto-agile log", ErrLog, path, l.Format)
	}
	for _, a := range l.Algs() {
		if _, err := a.Hash(); err != nil {
			return nil, fmt.Errorf("%w %s: header bank %s: %w", ErrLog, path, a, err)
		}
	}
	return l, nil
}

// checkLogWritable makes sure, before anything is extended, that the log
// can be written afterwards: its directory exists (it is created) and
// takes a new file, and the path is not a symbolic link or a non-regular
// file. A PCR extended without its log entry could no longer be
// explained by the log.
func checkLogWritable(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%w %s: %w", ErrLog, path, err)
	}
	if err := fsys.CheckWritable(fsys.OS{}, path); err != nil {
		return fmt.Errorf("%w: %w", ErrLog, err)
	}
	return nil
}

// writeLog replaces the log file atomically (temp file, fsync, rename),
// creating its directory when missing. The log is not secret: 0644.
func writeLog(path string, l *tpm.EventLog) error {
	b, err := l.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrLog, path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%w %s: %w", ErrLog, path, err)
	}
	if err := fsys.WriteFile(fsys.OS{}, path, b, 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrLog, err)
	}
	return nil
}
