package slaunch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/slkit/slkit/internal/fsys"
)

// LaunchLog is the DRTM log `slkit drtm verify` checks (ReportLaunch),
// and where it was read.
type LaunchLog struct {
	// Name is the file read.
	Name string
	// Log is the parsed log; nil when Name does not exist.
	Log *KernelLog
	// TXT are the TXT registers a Secure Launch kernel shows next to its
	// log in securityfs (nil for another log).
	TXT *KernelTXTRegisters
}

// ReadLaunchLog reads a launch's DRTM log: name when explicit, else a
// Secure Launch kernel's securityfs log (securityfs/eventlog, the whole
// LOG_INFO buffer) with the TXT registers next to it when there is one,
// else name (the log slkit launch hands over). A missing log is no error
// (LaunchLog.Log is nil: Verdict says so); a malformed or empty one, or
// TXT registers that cannot be read, is an *fsys.InputError.
func ReadLaunchLog(name, securityfs string, explicit bool) (*LaunchLog, error) {
	l := &LaunchLog{Name: name}
	if kernelLog := filepath.Join(securityfs, "eventlog"); !explicit {
		if _, err := os.Stat(kernelLog); err == nil {
			l.Name = kernelLog
			if l.TXT, err = ReadKernelTXTRegisters(os.DirFS(securityfs)); err != nil {
				return nil, &fsys.InputError{Err: err}
			}
		}
	}
	b, err := fsys.OS{}.ReadFile(l.Name, MaxKernelLogSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fsys.NameInput(l.Name, err)
	default:
		if l.Log, err = ParseKernelLog(b); err != nil {
			return nil, &fsys.InputError{Path: l.Name, Err: err}
		}
	}
	return l, nil
}

// Verdict is the verdict err of ReportLaunch on l, saying, when the log
// does not exist, that there was none.
func (l *LaunchLog) Verdict(err error) error {
	if err != nil && l.Log == nil {
		return fmt.Errorf("%w (no DRTM log: %s does not exist)", err, l.Name)
	}
	return err
}

// WriteFile writes the recording to path as indented JSON (what
// ParseRecording reads), replacing it atomically (mode 0644).
func (r *Recording) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return fsys.WriteFile(fsys.OS{}, path, append(b, '\n'), 0o644)
}

// OpenPlatform is the machine (NewHostPlatform), or, when recording is
// not "", the platform recorded in that file (RecordingInput,
// ParseRecording).
func OpenPlatform(recording string) (Platform, error) {
	if recording != "" {
		return fsys.ReadInput(RecordingInput, recording, ParseRecording)
	}
	return NewHostPlatform(), nil
}

// ProbeAndSave probes p (Probe) and, when save is not "", saves the
// register values the probe read as a recording in the file save
// (Record, Recording.WriteFile), so that the probe can be repeated
// elsewhere (OpenPlatform).
func ProbeAndSave(p Platform, save string) (*Status, error) {
	rec := &Recording{Comment: "recorded by slkit drtm status"}
	if save != "" {
		p = Record(p, rec)
	}
	s := Probe(p)
	if save != "" {
		if err := rec.WriteFile(save); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// WriteLog writes the log with the leave events (Left.Log) to path,
// creating its directory, after Leave returned l and leaveErr: also when
// only the host's part of the leave failed, since the log describes what
// the TPM holds. It returns leaveErr joined with a failure to create the
// directory or write the file; with no log (l nil, or a leave that
// extended nothing), leaveErr alone.
func (l *Left) WriteLog(path string, leaveErr error) error {
	if l == nil || l.Log == nil {
		return leaveErr
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return errors.Join(leaveErr, err)
	}
	if err := fsys.WriteFile(fsys.OS{}, path, l.Log, 0o644); err != nil {
		return errors.Join(leaveErr, err)
	}
	return leaveErr
}
