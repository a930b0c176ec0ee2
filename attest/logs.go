package attest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/slkit/slkit/internal/fsys"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// LogSource is where one event log is read from; an optional source that
// does not exist is left out of the evidence.
type LogSource struct {
	Path     string
	Optional bool
}

// LogSources are the three logs of a boot.
type LogSources struct {
	Firmware, PreLaunch, DRTM LogSource
}

// DefaultLogSources are the logs as the launched system finds them, each
// optional: the firmware's (tpm.FirmwareLogPath), slkit's pre-launch log
// (launch.TargetLogPath), and the DRTM log of a Secure Launch kernel
// (slaunch.SecurityFSLog) when securityfs has one, else the one slkit
// launch --drtm hands over (launch.DRTMTargetLogPath).
func DefaultLogSources() LogSources {
	drtm := launch.DRTMTargetLogPath
	if _, err := os.Stat(slaunch.SecurityFSLog); err == nil {
		drtm = slaunch.SecurityFSLog
	}
	return LogSources{
		Firmware:  LogSource{tpm.FirmwareLogPath, true},
		PreLaunch: LogSource{launch.TargetLogPath, true},
		DRTM:      LogSource{drtm, true},
	}
}

// ReadLogs reads the logs (each at most MaxLogSize bytes, checked before
// it is read) and returns them with the paths read. The DRTM log goes
// through slaunch.ParseKernelLog, so that a Secure Launch kernel's buffer
// loses its unused space and v14 markers become EV_NO_ACTION; the other
// logs are taken as they are (the verifier parses them). A log that
// cannot be read is an *fsys.InputError naming it.
func ReadLogs(src LogSources) (Logs, []string, error) {
	var l Logs
	var read []string
	for _, x := range []struct {
		src LogSource
		dst *[]byte
	}{{src.Firmware, &l.Firmware}, {src.PreLaunch, &l.PreLaunch}, {src.DRTM, &l.DRTM}} {
		if x.src.Path == "" {
			continue
		}
		b, err := readLimited(x.src.Path, MaxLogSize)
		if errors.Is(err, fs.ErrNotExist) && x.src.Optional {
			continue
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = &fsys.InputError{Path: pe.Path, Err: pe.Err}
		}
		if err != nil {
			return Logs{}, nil, err
		}
		if x.dst == &l.DRTM {
			k, err := slaunch.ParseKernelLog(b)
			if err != nil {
				return Logs{}, nil, fmt.Errorf("%s: %w", x.src.Path, err)
			}
			b = k.Bytes
		}
		*x.dst = b
		read = append(read, x.src.Path)
	}
	return l, read, nil
}

// readLimited reads a non-empty file of at most max bytes
// (fsys.OS{}.ReadFile: the limit is checked before the file is read).
func readLimited(path string, max int64) ([]byte, error) {
	b, err := fsys.OS{}.ReadFile(path, max)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrMalformed, path)
	}
	return b, nil
}

// ReadEvidence reads and parses an evidence file (ParseEvidence), refusing
// one larger than MaxEvidenceSize before reading it.
func ReadEvidence(path string) (*Evidence, error) {
	b, err := readLimited(path, MaxEvidenceSize)
	if err != nil {
		return nil, err
	}
	return ParseEvidence(b)
}
