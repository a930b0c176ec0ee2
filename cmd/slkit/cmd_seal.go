package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// firmwareEventLog is where Linux exposes the firmware's TCG event log.
const firmwareEventLog = tpm.FirmwareLogPath

var pinFlags = []cli.Flag{
	&cli.BoolFlag{Name: "pin", Usage: "require/ask for a PIN (read from the terminal without echo, or the first line of stdin)"},
	&cli.StringFlag{Name: "pin-file", Usage: "read the PIN from FILE (implies --pin)"},
}

func sealCommands(e *env) []*cli.Command {
	return []*cli.Command{
		{
			Name:  "seal",
			Usage: "seal a secret (<= 128 bytes) to PCR values: current ones or predicted ones (--pcr-values)",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "pcrs", Required: true, Usage: "PCRs to seal to, e.g. 8,9 or 17,18"},
				&cli.StringFlag{Name: "pcr-values", Usage: "seal to these values (JSON of `slkit predict --json` or `pcr read --json`) instead of the current ones"},
				&cli.StringFlag{Name: "bank", Value: "sha256", Usage: "PCR bank of the policy"},
				&cli.StringFlag{Name: "in", Required: true, Usage: "secret file, or - for stdin"},
				&cli.StringFlag{Name: "out", Required: true, Usage: "sealed file to write"},
				&cli.StringFlag{Name: "eventlog", Usage: "when sealing to current values: event log whose events for these PCRs are recorded, to explain refusals"},
			}, pinFlags...),
			Action: func(c *cli.Context) error { return sealAction(e, c) },
		},
		{
			Name:      "unseal",
			Usage:     "unseal a secret; a refusal names the PCR and event that differ (exit 3)",
			ArgsUsage: "SEALED",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "out", Usage: "write the secret to FILE (mode 0600); without it the secret goes to stdout, never to a terminal"},
				&cli.BoolFlag{Name: "fingerprint", Usage: "print only sha256:<hex> of the secret (safe on a terminal); with --out, also write the secret"},
				&cli.StringSliceFlag{Name: "eventlog", Usage: "current event log(s) used to explain a refusal (default: the firmware log, if readable)"},
				&cli.StringFlag{Name: "expect-fingerprint", Usage: "refuse (exit 3) unless the secret's fingerprint is `sha256:HEX` (pin it in the measured image that unseals a handed-over file)"},
				&cli.BoolFlag{Name: "json", Usage: "print what was unsealed, never the secret: {\"file\",\"object\":\"main\"|\"update\",\"main_refusal\",\"bank\",\"pcrs\",\"pin\",\"out\",\"fingerprint\"} (the secret goes only to --out)"},
			}, pinFlags...),
			Action: func(c *cli.Context) error { return unsealAction(e, c) },
		},
		{
			Name:  "srk",
			Usage: "storage root key",
			Subcommands: []*cli.Command{{
				Name:  "provision",
				Usage: "make the standard ECC P-256 SRK persistent at 0x81000001 (unseal then needs 6 TPM commands)",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print {\"handle\":\"0x81000001\",\"name\":HEX}"}},
				Action: func(c *cli.Context) error {
					t, err := e.openTPM(c)
					if err != nil {
						return err
					}
					defer t.Close()
					srk, err := tpm.ProvisionSRK(t)
					if err != nil {
						return err
					}
					handle, name := fmt.Sprintf("%#x", uint32(srk.Handle)), tpm.Digest(srk.Name.Buffer)
					return e.report(c, map[string]any{"handle": handle, "name": name}, fmt.Sprintf("SRK at %s, name %s\n", handle, name))
				},
			}},
		},
	}
}

// sealTarget is what a seal's flags select: the policy's bank and PCRs,
// and the values to seal to (--pcr-values; nil: the TPM's current ones).
type sealTarget struct {
	bank       tpm.Alg
	pcrs       []int
	values     *tpm.Expected
	valuesFile string
}

// parseSealTarget reads --bank, the PCR list flag pcrsFlag (for example
// "8,9" in its error) and --pcr-values.
func parseSealTarget(c *cli.Context, pcrsFlag, example string) (*sealTarget, error) {
	bank, err := tpm.ParseAlg(c.String("bank"))
	if err != nil {
		return nil, usageError{fmt.Errorf("--bank: %w", err)}
	}
	pcrs, err := tpm.ParsePCRList(c.String(pcrsFlag))
	if err == nil && len(pcrs) == 0 {
		err = errors.New("no PCR")
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s %q: want a list such as %s: %w", pcrsFlag, c.String(pcrsFlag), example, err)}
	}
	st := &sealTarget{bank: bank, pcrs: pcrs, valuesFile: c.String("pcr-values")}
	if st.valuesFile != "" {
		if st.values, err = readExpected(st.valuesFile); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// policy is the seal policy on t, and the events to record with it: the
// predicted values' own events, or events (sealing to current values).
func (st *sealTarget) policy(t tpm.TPMSender, events []tpm.Event) (*tpm.SealPolicy, []tpm.Event, error) {
	if st.values == nil {
		pol, err := tpm.CurrentPolicy(t, st.bank, st.pcrs)
		return pol, events, err
	}
	pol, err := tpm.PolicyFor(st.bank, st.pcrs, &st.values.PCRs)
	if err != nil {
		return nil, nil, inputError{st.valuesFile, err}
	}
	return pol, st.values.Events, nil
}

func sealAction(e *env, c *cli.Context) error {
	st, err := parseSealTarget(c, "pcrs", "8,9")
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := checkOutput(out); err != nil {
		return err
	}
	secret, err := readSecret(e, c.String("in"))
	if err != nil {
		return err
	}
	pin, err := readPIN(e, c, c.String("in") == "-")
	if err != nil {
		return err
	}
	var events []tpm.Event
	if f := c.String("eventlog"); f != "" {
		if st.values != nil {
			return usageError{errors.New("--eventlog is for sealing to current values; --pcr-values carries its own events")}
		}
		l, err := parseLogFile(f)
		if err != nil {
			return err
		}
		events = l.Events
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	pol, events, err := st.policy(t, events)
	if err != nil {
		return err
	}
	opts := []tpm.SealOption{tpm.WithExpectedEvents(events)}
	if pin != nil {
		opts = append(opts, tpm.WithPIN(pin))
	}
	s, err := tpm.Seal(t, secret, pol, opts...)
	if err != nil {
		return err
	}
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	if err := e.writeOutput(out, b, 0o600, false); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "sealed to %s PCRs %v%s -> %s\n", st.bank, st.pcrs, policyNote(pol), out)
	return nil
}

func policyNote(p *tpm.SealPolicy) string {
	s := ""
	if p.PIN {
		s += " + PIN"
	}
	if p.Locality != 0 {
		s += fmt.Sprintf(" + locality mask %#x", p.Locality)
	}
	return s
}

func unsealAction(e *env, c *cli.Context) error {
	if err := needArgs(c, 1, 1, "one SEALED file"); err != nil {
		return err
	}
	name := c.Args().First()
	s, err := readSealed(name)
	if err != nil {
		return err
	}
	var pinned []byte
	if c.IsSet("expect-fingerprint") {
		if pinned, err = tpm.ParseFingerprint(c.String("expect-fingerprint")); err != nil {
			return usageError{fmt.Errorf("--expect-fingerprint: %w", err)}
		}
	}
	out, fp := c.String("out"), c.Bool("fingerprint")
	switch {
	case out == "-" && (fp || c.Bool("json")):
		return usageError{errors.New("--out - and --fingerprint or --json would both print to standard output")}
	case (out == "" && !fp && !c.Bool("json") || out == "-") && e.stdoutIsTerminal():
		return usageError{errors.New("refusing to write the secret to a terminal: use --out FILE or a pipe")}
	}
	if out != "" {
		if err := checkOutput(out); err != nil {
			return err
		}
	}
	pin, err := sealedPIN(e, c, name, s)
	if err != nil {
		return err
	}
	logs, problem, err := currentLogs(c.StringSlice("eventlog"))
	if err != nil {
		return err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	var info tpm.UnsealInfo
	secret, err := tpm.Unseal(t, s, tpm.WithUnsealPIN(pin), tpm.WithEventLogs(logs...), tpm.WithLogUnavailable(problem), tpm.WithUnsealInfo(&info))
	if err != nil {
		return sealedError(name, err)
	}
	defer clear(secret)
	if pinned != nil {
		if err := tpm.CheckFingerprint(secret, pinned); err != nil {
			return inputError{name, err}
		}
	}
	if out != "" {
		if err := e.writeOutput(out, secret, 0o600, true); err != nil {
			return err
		}
	}
	fingerprint := ""
	if fp {
		fingerprint = tpm.Fingerprint(secret)
	}
	if c.Bool("json") {
		return e.writeJSON(newUnsealReport(name, s, &info, out, fingerprint))
	}
	if fp {
		fmt.Fprintln(e.stdout, fingerprint)
		return nil
	}
	if out != "" {
		return nil
	}
	_, err = e.stdout.Write(secret)
	return err
}

// readSealed reads and parses a sealed file.
func readSealed(name string) (*tpm.Sealed, error) {
	b, err := readInput(name, inSealed)
	if err != nil {
		return nil, err
	}
	s, err := tpm.ParseSealed(b)
	if err != nil {
		return nil, inputError{name, err}
	}
	return s, nil
}

// sealedError names the sealed file in an error that is about it: its
// content, or its SRK that is not this TPM's.
func sealedError(name string, err error) error {
	if errors.Is(err, tpm.ErrBadSealed) || errors.Is(err, tpm.ErrSealedTampered) || errors.Is(err, tpm.ErrSRKMismatch) {
		return inputError{name, err}
	}
	return err
}

// sealedPIN reads the PIN of a sealed file: required when it was sealed
// with one, refused (exit 1) when it was not.
func sealedPIN(e *env, c *cli.Context, name string, s *tpm.Sealed) ([]byte, error) {
	given := c.Bool("pin") || c.String("pin-file") != ""
	switch {
	case s.Policy.PIN && !given:
		return nil, usageError{fmt.Errorf("%s requires a PIN: give --pin or --pin-file", name)}
	case !s.Policy.PIN && given:
		return nil, usageError{fmt.Errorf("%s was sealed without a PIN: leave out --pin and --pin-file", name)}
	case !given:
		return nil, nil
	}
	return readPIN(e, c, false)
}

// currentLogs reads the event logs that explain a refused unseal: the
// given ones, or the firmware's when none is given and it exists. A given
// file that cannot be read (missing, too large, not a regular file) is an
// input error. A log that does not parse, and the firmware's log for any
// reason, only loses the explanation: problem says why, and the unseal
// goes on (the log explains a refusal, it never causes one).
func currentLogs(files []string) (logs []*tpm.EventLog, problem string, err error) {
	firmware := len(files) == 0
	if firmware {
		if _, err := os.Stat(firmwareEventLog); err != nil {
			return nil, "", nil
		}
		files = []string{firmwareEventLog}
	}
	for _, f := range files {
		b, err := readInput(f, inEventLog)
		if err != nil {
			if firmware {
				return nil, oneLine(err.Error()), nil
			}
			return nil, "", err
		}
		l, err := tpm.ParseEventLog(b)
		if err != nil {
			return nil, oneLine(f + ": " + err.Error()), nil
		}
		logs = append(logs, l)
	}
	return logs, "", nil
}

func parseLogFile(f string) (*tpm.EventLog, error) {
	b, err := readInput(f, inEventLog)
	if err != nil {
		return nil, err
	}
	l, err := tpm.ParseEventLog(b)
	if err != nil {
		return nil, inputError{f, err}
	}
	return l, nil
}

func readSecret(e *env, name string) ([]byte, error) {
	if name == "-" {
		b, err := fsys.ReadLimited(e.stdin, "stdin", inSecret.max)
		if err != nil {
			return nil, inputError{"stdin", inSecret.problem(err)}
		}
		return b, nil
	}
	return readInput(name, inSecret)
}

// readPIN reads the PIN from --pin-file, or with --pin from the terminal
// (no echo) or the first line of stdin, without its line end. It returns
// nil when no PIN is asked; an empty PIN or one longer than tpm.MaxPIN is
// an input error naming where it came from.
func readPIN(e *env, c *cli.Context, stdinTaken bool) ([]byte, error) {
	if f := c.String("pin-file"); f != "" {
		b, err := readInput(f, inPIN)
		if err != nil {
			return nil, err
		}
		return checkPIN(f, trimNewline(b))
	}
	if !c.Bool("pin") {
		return nil, nil
	}
	if e.readPassword != nil {
		if pin, ok, err := e.readPassword("PIN: "); ok {
			if err != nil {
				return nil, inputError{"terminal", err}
			}
			return checkPIN("the PIN typed", pin)
		}
	}
	if stdinTaken {
		return nil, usageError{errors.New("--pin reads stdin, which --in - already uses: give --pin-file")}
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, inPIN.max)).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, inputError{"stdin", err}
	}
	return checkPIN("stdin", trimNewline(line))
}

func checkPIN(from string, pin []byte) ([]byte, error) {
	switch {
	case len(pin) == 0:
		return nil, inputError{from, errors.New("empty PIN")}
	case len(pin) > tpm.MaxPIN:
		return nil, inputError{from, fmt.Errorf("a PIN of more than %d bytes", tpm.MaxPIN)}
	}
	return pin, nil
}

func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// unsealReport is `unseal --json`: which object released the secret and
// where it went; never the secret itself.
type unsealReport struct {
	File        string  `json:"file"`
	Object      string  `json:"object"`
	MainRefusal string  `json:"main_refusal,omitempty"`
	Bank        tpm.Alg `json:"bank"`
	PCRs        []int   `json:"pcrs"`
	PIN         bool    `json:"pin"`
	Out         string  `json:"out,omitempty"`
	Fingerprint string  `json:"fingerprint,omitempty"`
}

func newUnsealReport(name string, s *tpm.Sealed, info *tpm.UnsealInfo, out, fingerprint string) unsealReport {
	r := unsealReport{File: name, Object: "main", Bank: s.Policy.Bank, PCRs: s.Policy.PCRs, PIN: s.Policy.PIN, Out: out, Fingerprint: fingerprint}
	if info.Update {
		r.Object, r.MainRefusal = "update", oneLine(info.Refusal.Error())
		r.PCRs, r.PIN = s.Update.Policy.PCRs, s.Update.Policy.PIN
	}
	return r
}
