package launch

import (
	"errors"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// Measurement is what Measure did.
type Measurement struct {
	// Banks are the TPM's active banks, all extended by every event.
	Banks []tpm.Alg
	// Events are the events appended, with their indices in Log.
	Events []tpm.Event
	// Log is the whole event log after the events were appended.
	Log *tpm.EventLog
	// LogPath is the file the log was written to ("" when none).
	LogPath string
}

type measureConfig struct {
	logPath string
	check   func(Component, tpm.Digests) error
}

// MeasureOption configures Measure.
type MeasureOption func(*measureConfig)

// WithLogFile appends the events to the event log file at path (created
// with a Spec ID header for the TPM's active banks when missing, replaced
// atomically). Without it the log is kept in memory only.
func WithLogFile(path string) MeasureOption { return func(c *measureConfig) { c.logPath = path } }

// WithCheck calls check with each component's digests (the active banks
// and always SHA-256) after hashing and before extending; an error stops
// the measurement before that component is extended. Launch uses it to
// compare images with the policy.
func WithCheck(check func(Component, tpm.Digests) error) MeasureOption {
	return func(c *measureConfig) { c.check = check }
}

// Measure measures the entry into the TPM following the profile: for each
// event, it hashes the component once (every bank in parallel), extends the
// PCR in every active bank with ONE TPM2_PCR_Extend (Part 3 §22.2), and
// appends the event to the log. Its TPM traffic is one
// TPM2_GetCapability (the active banks) plus one TPM2_PCR_Extend per event.
//
// When a step fails after earlier events were extended, the log still
// gets those events written, so that it keeps replaying to the TPM.
func Measure(t transport.TPM, e *Entry, p *Profile, opts ...MeasureOption) (*Measurement, error) {
	cfg := measureConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	active, err := tpm.ActiveBanks(t)
	if err != nil {
		return nil, err
	}
	var log *tpm.EventLog
	if cfg.logPath != "" {
		log, err = loadLog(cfg.logPath, active)
		if err == nil {
			err = checkLogWritable(cfg.logPath)
		}
	} else {
		log, err = tpm.NewEventLog(active)
	}
	if err != nil {
		return nil, err
	}
	algs := union(active, log.Algs())
	if cfg.check != nil {
		algs = union(algs, []tpm.Alg{tpm.SHA256})
	}
	m := &Measurement{Banks: active, Log: log, LogPath: cfg.logPath}
	first := len(log.Events)
	err = walk(e, p, algs, func(s Step, ds tpm.Digests) error {
		if cfg.check != nil {
			if err := cfg.check(s.Component, ds); err != nil {
				return err
			}
		}
		if err := tpm.Extend(t, s.PCR, subset(ds, active)); err != nil {
			return err
		}
		_, err := log.Append(s.PCR, s.Type, subset(ds, log.Algs()), []byte(s.Description))
		return err
	})
	m.Events = log.Events[first:]
	if cfg.logPath != "" && len(m.Events) > 0 {
		if werr := writeLog(cfg.logPath, log); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err != nil {
		return m, err
	}
	return m, nil
}
