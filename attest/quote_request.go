package attest

import (
	"fmt"
	"strings"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// QuoteRequest is evidence asked for in text, as a command line gives it
// (`slkit attest quote`'s flags): Prepare checks the values and reads the
// files they name, so that a command line only copies its flags here. A
// nil field was not given.
type QuoteRequest struct {
	// Nonce is the verifier's nonce in hex (ParseNonce); NonceFile names
	// a file holding it (NonceInput, white space around it ignored).
	// Exactly one is given.
	Nonce, NonceFile *string
	// PCRs are the PCRs to quote in every bank (tpm.ParsePCRList, e.g.
	// "0-23"; at least one).
	PCRs string
	// FirmwareLog, PreLaunchLog and DRTMLog replace the log sources of
	// DefaultLogSources: nil keeps the default (read when present), a
	// path must be read, and "" puts no such log into the evidence.
	FirmwareLog, PreLaunchLog, DRTMLog *string
	// Activation names the secret Activate recovered (ActivationInput,
	// WithActivation); "" for none.
	Activation string
}

// CollectArgs are what a QuoteRequest asks Collect for.
type CollectArgs struct {
	// Nonce is the verifier's nonce, Collect's argument.
	Nonce []byte
	// Options are Collect's options: the logs, the PCRs and the
	// activation secret.
	Options []CollectOption
	// Logs are the paths of the logs read (for Evidence.Summary).
	Logs []string
}

// Sources are the log sources r asks for: DefaultLogSources with the
// logs r gives in their place (not optional: a given log must be read).
func (r *QuoteRequest) Sources() LogSources {
	src := DefaultLogSources()
	for _, f := range []struct {
		flag *string
		dst  *LogSource
	}{{r.FirmwareLog, &src.Firmware}, {r.PreLaunchLog, &src.PreLaunch}, {r.DRTMLog, &src.DRTM}} {
		if f.flag != nil {
			*f.dst = LogSource{Path: *f.flag}
		}
	}
	return src
}

// Prepare checks r and reads what it names, in this order: the nonce,
// the PCR list, the logs (ReadLogs), the activation secret. A bad value
// is an errkind.Input error naming the flag ("--pcrs \"x\": want PCR
// indices 0-23"); a file that cannot be read is an *fsys.InputError.
func (r *QuoteRequest) Prepare() (*CollectArgs, error) {
	nonce, err := r.nonce()
	if err != nil {
		return nil, err
	}
	pcrs, err := tpm.ParsePCRList(r.PCRs)
	if err != nil || len(pcrs) == 0 {
		return nil, errkind.Errorf(errkind.Input, "--pcrs %q: want PCR indices 0-23", r.PCRs)
	}
	logs, read, err := ReadLogs(r.Sources())
	if err != nil {
		return nil, err
	}
	q := &CollectArgs{Nonce: nonce, Options: []CollectOption{WithLogs(logs), WithPCRs(pcrs)}, Logs: read}
	if r.Activation != "" {
		secret, err := ActivationInput.Read(r.Activation)
		if err != nil {
			return nil, err
		}
		q.Options = append(q.Options, WithActivation(secret))
	}
	return q, nil
}

// nonce is Nonce or the content of NonceFile.
func (r *QuoteRequest) nonce() ([]byte, error) {
	switch {
	case (r.Nonce != nil) == (r.NonceFile != nil):
		return nil, errkind.Errorf(errkind.Input, "quote: give --nonce HEX or --nonce-file FILE")
	case r.Nonce != nil:
		n, err := ParseNonce(*r.Nonce)
		if err != nil {
			return nil, fmt.Errorf("--nonce: %w", err)
		}
		return n, nil
	}
	return fsys.ReadInput(NonceInput, *r.NonceFile, func(b []byte) ([]byte, error) {
		return ParseNonce(strings.TrimSpace(string(b)))
	})
}
