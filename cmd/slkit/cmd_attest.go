package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// attestCommand is `slkit attest`: the machine's side (quote, activate),
// in every build; the verifier's side (challenge, verify, export) only in
// the host build (attestVerifierCommands).
func attestCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "attest",
		Usage: "remote attestation: evidence a verifier checks (quote, activate; challenge, verify, export on a verifier)",
		Subcommands: append([]*cli.Command{
			{
				Name:  "quote",
				Usage: "write evidence for the verifier's nonce: EK certificate, AK, one TPM2_Quote per bank over PCRs 0-23, the firmware, pre-launch and DRTM logs",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "nonce", Usage: "the verifier's nonce, `HEX` (8-64 bytes)"},
					&cli.StringFlag{Name: "nonce-file", Usage: "read the nonce (hex) from `FILE` instead"},
					&cli.StringFlag{Name: "out", Usage: "evidence `FILE` to write (required)"},
					&cli.StringFlag{Name: "activation", Usage: "put the secret `FILE` written by attest activate into the evidence"},
					&cli.StringFlag{Name: "pcrs", Value: "0-23", Usage: "PCRs to quote in every bank"},
					&cli.StringFlag{Name: "firmware-log", Usage: "firmware event log `FILE` (default " + tpm.FirmwareLogPath + " when present; empty: none)"},
					&cli.StringFlag{Name: "prelaunch-log", Usage: "slkit's pre-launch log `FILE` (default /slkit/prelaunch-eventlog.bin when present; empty: none)"},
					&cli.StringFlag{Name: "drtm-log", Usage: "DRTM log `FILE` (default /sys/kernel/security/slaunch/eventlog, else /slkit/drtm-eventlog.bin, when present; empty: none)"},
				},
				Action: func(c *cli.Context) error { return attestQuote(e, c) },
			},
			{
				Name:      "activate",
				Usage:     "answer a verifier's challenge with TPM2_ActivateCredential (EK + AK of this TPM)",
				ArgsUsage: "CHALLENGE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Usage: "secret `FILE` to write, mode 0600 (required): give it to attest quote --activation"},
				},
				Action: func(c *cli.Context) error { return attestActivate(e, c) },
			},
		}, attestVerifierCommands(e)...),
	}
}

// maxNonceFile bounds a nonce file: a hex nonce and a line break.
const maxNonceFile = 1 << 10

// Input kinds of the machine side of attestation.
var (
	inNonce      = fsys.Input{What: "nonce file", Max: maxNonceFile}
	inActivation = fsys.Input{What: "activation secret", Max: tpm.MaxSecret}
	inChallenge  = fsys.Input{What: "activation challenge", Max: attest.MaxChallengeSize}
)

// attestNonce takes --nonce or --nonce-file.
func attestNonce(c *cli.Context) ([]byte, error) {
	switch {
	case c.IsSet("nonce") == c.IsSet("nonce-file"):
		return nil, usageError{fmt.Errorf("%s: give --nonce HEX or --nonce-file FILE", c.Command.FullName())}
	case c.IsSet("nonce"):
		n, err := attest.ParseNonce(c.String("nonce"))
		if err != nil {
			return nil, usageError{fmt.Errorf("--nonce: %w", err)}
		}
		return n, nil
	}
	name := c.String("nonce-file")
	b, err := inNonce.Read(name)
	if err != nil {
		return nil, err
	}
	n, err := attest.ParseNonce(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, inputErr(name, err)
	}
	return n, nil
}

func attestQuote(e *env, c *cli.Context) error {
	if err := needFlags(c, "out"); err != nil {
		return err
	}
	nonce, err := attestNonce(c)
	if err != nil {
		return err
	}
	pcrs, err := tpm.ParsePCRList(c.String("pcrs"))
	if err != nil || len(pcrs) == 0 {
		return usageError{fmt.Errorf("--pcrs %q: want PCR indices 0-23", c.String("pcrs"))}
	}
	src := attest.DefaultLogSources()
	for _, f := range []struct {
		flag string
		dst  *attest.LogSource
	}{{"firmware-log", &src.Firmware}, {"prelaunch-log", &src.PreLaunch}, {"drtm-log", &src.DRTM}} {
		if c.IsSet(f.flag) {
			*f.dst = attest.LogSource{Path: c.String(f.flag)}
		}
	}
	logs, read, err := attest.ReadLogs(src)
	if err != nil {
		return logInputError(err)
	}
	opts := []attest.CollectOption{attest.WithLogs(logs), attest.WithPCRs(pcrs)}
	if name := c.String("activation"); name != "" {
		secret, err := inActivation.Read(name)
		if err != nil {
			return err
		}
		opts = append(opts, attest.WithActivation(secret))
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	ev, err := attest.Collect(t, nonce, opts...)
	if err != nil {
		return err
	}
	b, err := ev.Marshal()
	if err != nil {
		return err
	}
	if err := fsys.WriteFile(fsys.OS{}, c.String("out"), b, 0o644); err != nil {
		return err
	}
	banks := make([]string, len(ev.Quotes))
	for i, q := range ev.Quotes {
		banks[i] = q.Bank.String()
	}
	cert := "no EK certificate in NV"
	if ev.EK.Certificate != nil {
		cert = fmt.Sprintf("EK certificate from NV %#x", ev.EK.NVIndex)
	}
	logList := "no event log"
	if len(read) > 0 {
		logList = "logs " + strings.Join(read, ", ")
	}
	fmt.Fprintf(e.stdout, "evidence in %s: nonce %s; %s; quotes %s over PCR %s; %s", c.String("out"),
		hex.EncodeToString(nonce), cert, strings.Join(banks, ", "), c.String("pcrs"), logList)
	if ev.Activation != nil {
		fmt.Fprint(e.stdout, "; activation secret included")
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// logInputError names the log file an error is about as an input error
// (a missing explicitly named log, an oversized or malformed one).
func logInputError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return inputErr(pe.Path, pe.Err)
	}
	return err
}

func attestActivate(e *env, c *cli.Context) error {
	if err := needArgs(c, 1, 1, "one challenge file"); err != nil {
		return err
	}
	if err := needFlags(c, "out"); err != nil {
		return err
	}
	name := c.Args().First()
	b, err := inChallenge.Read(name)
	if err != nil {
		return err
	}
	ch, err := attest.ParseChallenge(b)
	if err != nil {
		return inputErr(name, err)
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	secret, err := attest.Activate(t, ch)
	if err != nil {
		return err
	}
	if err := fsys.WriteFile(fsys.OS{}, c.String("out"), secret, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "challenge answered: the secret for AK %s is in %s (give it to slkit attest quote --activation)\n",
		hex.EncodeToString(ch.AKName), c.String("out"))
	return nil
}
