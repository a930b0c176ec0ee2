package main

import (
	"encoding/hex"
	"fmt"

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

func (e *env) attestQuote(c *cli.Context) error {
	r := attest.QuoteRequest{Nonce: optionalString(c, "nonce"), NonceFile: optionalString(c, "nonce-file"),
		PCRs: c.String("pcrs"), Activation: c.String("activation"), FirmwareLog: optionalString(c, "firmware-log"),
		PreLaunchLog: optionalString(c, "prelaunch-log"), DRTMLog: optionalString(c, "drtm-log")}
	q, err := r.Prepare()
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		ev, err := attest.Collect(t, q.Nonce, q.Options...)
		if err != nil {
			return err
		}
		b, err := ev.Marshal()
		if err == nil {
			err = fsys.WriteFile(fsys.OS{}, c.String("out"), b, 0o644)
		}
		if err == nil {
			_, err = fmt.Fprint(e.stdout, ev.Summary(c.String("out"), c.String("pcrs"), q.Logs))
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
