package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/atomicfile"
	"github.com/slkit/slkit/tpm"
)

// firmwareEventLog is where Linux exposes the firmware's TCG event log.
const firmwareEventLog = "/sys/kernel/security/tpm0/binary_bios_measurements"

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
			}, pinFlags...),
			Action: func(c *cli.Context) error { return unsealAction(e, c) },
		},
		{
			Name:  "srk",
			Usage: "storage root key",
			Subcommands: []*cli.Command{{
				Name:  "provision",
				Usage: "make the standard ECC P-256 SRK persistent at 0x81000001 (unseal then needs 5 TPM commands)",
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
					fmt.Fprintf(e.stdout, "SRK at %#x, name %s\n", uint32(srk.Handle), tpm.Digest(srk.Name.Buffer))
					return nil
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
	if err != nil || len(pcrs) == 0 {
		return nil, usageError{fmt.Errorf("--%s %q: want a list such as %s", pcrsFlag, c.String(pcrsFlag), example)}
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
	if err := atomicfile.WriteFile(c.String("out"), b, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "sealed to %s PCRs %v%s -> %s\n", st.bank, st.pcrs, policyNote(pol), c.String("out"))
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
	b, err := readInput(name)
	if err != nil {
		return err
	}
	s, err := tpm.ParseSealed(b)
	if err != nil {
		return inputError{name, err}
	}
	out := c.String("out")
	if out == "" && !c.Bool("fingerprint") && e.stdoutIsTerminal() {
		return usageError{errors.New("refusing to write the secret to a terminal: use --out FILE or a pipe")}
	}
	var pin []byte
	if s.Policy.PIN || c.Bool("pin") || c.String("pin-file") != "" {
		if c.String("pin-file") == "" && !c.Bool("pin") {
			return usageError{fmt.Errorf("%s requires a PIN: give --pin or --pin-file", name)}
		}
		if pin, err = readPIN(e, c, false); err != nil {
			return err
		}
	}
	logs, err := currentLogs(c.StringSlice("eventlog"))
	if err != nil {
		return err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	secret, err := tpm.Unseal(t, s, tpm.WithUnsealPIN(pin), tpm.WithEventLogs(logs...))
	if err != nil {
		return err
	}
	if out != "" {
		if err := atomicfile.WriteFile(out, secret, 0o600); err != nil {
			return err
		}
	}
	if c.Bool("fingerprint") {
		sum := sha256.Sum256(secret)
		fmt.Fprintf(e.stdout, "sha256:%x\n", sum)
		return nil
	}
	if out != "" {
		return nil
	}
	_, err = e.stdout.Write(secret)
	return err
}

// currentLogs parses the given logs, or the firmware log when none is given
// and it is readable (a missing firmware log is not an error).
func currentLogs(files []string) ([]*tpm.EventLog, error) {
	if len(files) == 0 {
		if _, err := os.Stat(firmwareEventLog); err != nil {
			return nil, nil
		}
		files = []string{firmwareEventLog}
	}
	var out []*tpm.EventLog
	for _, f := range files {
		l, err := parseLogFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func parseLogFile(f string) (*tpm.EventLog, error) {
	b, err := readInput(f)
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
		b, err := io.ReadAll(io.LimitReader(e.stdin, tpm.MaxSecret+1))
		if err != nil {
			return nil, inputError{"stdin", err}
		}
		return b, nil
	}
	return readInput(name)
}

// readPIN reads the PIN from --pin-file, or with --pin from the terminal
// (no echo) or the first line of stdin. It returns nil when no PIN is asked.
func readPIN(e *env, c *cli.Context, stdinTaken bool) ([]byte, error) {
	if f := c.String("pin-file"); f != "" {
		b, err := readInput(f)
		if err != nil {
			return nil, err
		}
		return trimNewline(b), nil
	}
	if !c.Bool("pin") {
		return nil, nil
	}
	if e.readPassword != nil {
		if pin, ok, err := e.readPassword("PIN: "); ok {
			return pin, err
		}
	}
	if stdinTaken {
		return nil, usageError{errors.New("--pin reads stdin, which --in - already uses: give --pin-file")}
	}
	line, err := bufio.NewReader(e.stdin).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, inputError{"stdin", err}
	}
	pin := trimNewline(line)
	if len(pin) == 0 {
		return nil, usageError{errors.New("--pin: empty PIN on stdin")}
	}
	return pin, nil
}

func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
