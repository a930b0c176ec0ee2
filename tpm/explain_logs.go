package tpm

import (
	"os"
	"strings"

	"github.com/slkit/slkit/internal/fsys"
)

// EventLogInput is an event log file: at most MaxEventLogSize bytes.
var EventLogInput = fsys.Input{What: "event log", Max: MaxEventLogSize}

// ExplainingLogs reads the event logs that explain a refused unseal
// (WithEventLogs): the files given, or the firmware's log
// (FirmwareLogPath) when none is given and it exists. A given file that
// cannot be read (missing, too large, not a regular file) is the error,
// an *fsys.InputError naming it. A log that does not parse, and the
// firmware's log for any reason, only loses the explanation: problem says
// why (WithLogUnavailable), naming the file, and the caller goes on: the
// log explains a refusal, it never causes one.
func ExplainingLogs(files []string) (logs []*EventLog, problem string, err error) {
	firmware := len(files) == 0
	if firmware {
		if _, err := os.Stat(FirmwareLogPath); err != nil {
			return nil, "", nil
		}
		files = []string{FirmwareLogPath}
	}
	for _, f := range files {
		b, err := EventLogInput.Read(f)
		if err != nil {
			if firmware {
				return nil, oneLine(err.Error()), nil
			}
			return nil, "", err
		}
		l, err := ParseEventLog(b)
		if err != nil {
			return nil, oneLine(f + ": " + err.Error()), nil
		}
		logs = append(logs, l)
	}
	return logs, "", nil
}

// oneLine folds a message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
