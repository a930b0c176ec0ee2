package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// attestCommand is `slkit attest`: the machine's side (quote, activate),
// in every build; the verifier's side (challenge, verify, export) only in
// the host build (attestVerifierCommands).
func attestCommand(e *env) *cli.Command {
	return clikit.Group("attest", "remote attestation: evidence a verifier checks (quote, activate; challenge, verify, export on a verifier)",
		append([]*cli.Command{
			clikit.Cmd("quote", "write evidence for the verifier's nonce: EK certificate, AK, one TPM2_Quote per bank over PCRs 0-23, the firmware, pre-launch and DRTM logs", e.attestQuote,
				&cli.StringFlag{Name: "nonce", Usage: "the verifier's nonce, `HEX` (8-64 bytes)"},
				&cli.StringFlag{Name: "nonce-file", Usage: "read the nonce (hex) from `FILE` instead"},
				&cli.StringFlag{Name: "out", Required: true, Usage: "evidence `FILE` to write (required)"},
				&cli.StringFlag{Name: "activation", Usage: "put the secret `FILE` written by attest activate into the evidence"},
				&cli.StringFlag{Name: "pcrs", Value: "0-23", Usage: "PCRs to quote in every bank"},
				&cli.StringFlag{Name: "firmware-log", Usage: "firmware event log `FILE` (default " + tpm.FirmwareLogPath + " when present; empty: none)"},
				&cli.StringFlag{Name: "prelaunch-log", Usage: "slkit's pre-launch log `FILE` (default /slkit/prelaunch-eventlog.bin when present; empty: none)"},
				&cli.StringFlag{Name: "drtm-log", Usage: "DRTM log `FILE` (default /sys/kernel/security/slaunch/eventlog, else /slkit/drtm-eventlog.bin, when present; empty: none)"}),
			clikit.ArgsCmd("activate", "CHALLENGE", "answer a verifier's challenge with TPM2_ActivateCredential (EK + AK of this TPM)", clikit.NArgs(1, 1, "one challenge file", e.attestActivate),
				&cli.StringFlag{Name: "out", Required: true, Usage: "secret `FILE` to write, mode 0600 (required): give it to attest quote --activation"}),
		}, attestVerifierCommands(e)...)...)
}

// attestNonce takes --nonce or --nonce-file.
func attestNonce(c *cli.Context) ([]byte, error) {
	switch {
	case c.IsSet("nonce") == c.IsSet("nonce-file"):
		return nil, usage(fmt.Errorf("%s: give --nonce HEX or --nonce-file FILE", c.Command.FullName()))
	case c.IsSet("nonce"):
		n, err := attest.ParseNonce(c.String("nonce"))
		if err != nil {
			return nil, usage(fmt.Errorf("--nonce: %w", err))
		}
		return n, nil
	}
	return fsys.ReadInput(attest.NonceInput, c.String("nonce-file"), func(b []byte) ([]byte, error) {
		return attest.ParseNonce(strings.TrimSpace(string(b)))
	})
}

func (e *env) attestQuote(c *cli.Context) error {
	nonce, err := attestNonce(c)
	if err != nil {
		return err
	}
	pcrs, err := tpm.ParsePCRList(c.String("pcrs"))
	if err != nil || len(pcrs) == 0 {
		return usage(fmt.Errorf("--pcrs %q: want PCR indices 0-23", c.String("pcrs")))
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
		return err
	}
	opts := []attest.CollectOption{attest.WithLogs(logs), attest.WithPCRs(pcrs)}
	if name := c.String("activation"); name != "" {
		secret, err := attest.ActivationInput.Read(name)
		if err != nil {
			return err
		}
		opts = append(opts, attest.WithActivation(secret))
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		ev, err := attest.Collect(t, nonce, opts...)
		if err != nil {
			return err
		}
		b, err := ev.Marshal()
		if err == nil {
			err = fsys.WriteFile(fsys.OS{}, c.String("out"), b, 0o644)
		}
		if err == nil {
			_, err = fmt.Fprint(e.stdout, ev.Summary(c.String("out"), c.String("pcrs"), read))
		}
		return err
	})
}

func (e *env) attestActivate(c *cli.Context) error {
	ch, err := fsys.ReadInput(attest.ChallengeInput, c.Args().First(), attest.ParseChallenge)
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		secret, err := attest.Activate(t, ch)
		if err == nil {
			err = fsys.WriteFile(fsys.OS{}, c.String("out"), secret, 0o600)
		}
		if err == nil {
			_, err = fmt.Fprintf(e.stdout, "challenge answered: the secret for AK %s is in %s (give it to slkit attest quote --activation)\n",
				hex.EncodeToString(ch.AKName), c.String("out"))
		}
		return err
	})
}

// optionalString is the value of the string flag name, nil when it is not
// given: for a flag whose empty value means something (no log) other than
// its absence (the default).
func optionalString(c *cli.Context, name string) *string {
	if !c.IsSet(name) {
		return nil
	}
	s := c.String(name)
	return &s
}
