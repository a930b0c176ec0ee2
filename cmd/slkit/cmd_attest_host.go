//go:build !slkit_image

package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/attest/verifier"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
)

// attestVerifierCommands are the verifier's side of `slkit attest`; they
// link go-attestation, which the image build leaves out.
func attestVerifierCommands(e *env) []*cli.Command {
	return []*cli.Command{
		clikit.ArgsCmd("challenge", "EVIDENCE", "verifier: make a credential-activation challenge for the evidence's EK and AK", e.evidence(e.attestChallenge),
			&cli.StringFlag{Name: "ek-ca", Required: true, Usage: "PEM `FILE` of the EK certificate authorities (self-signed roots and intermediates; required)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "challenge `FILE` to send to the machine (required)"},
			&cli.StringFlag{Name: "record", Required: true, Usage: "`FILE` the verifier keeps to check the answer (required)"}),
		clikit.ArgsCmd("verify", "EVIDENCE", "verifier: check evidence: EK chain, AK activation, quotes and nonce, every log against the quotes, the launched policy entry (exit 3 if not)", e.attestVerify,
			&cli.StringFlag{Name: "nonce", Required: true, Usage: "the nonce given for this attestation, `HEX` (required)"},
			&cli.StringFlag{Name: "ek-ca", Required: true, Usage: "PEM `FILE` of the EK certificate authorities (required)"},
			&cli.StringFlag{Name: "record", Required: true, Usage: "the challenge's record `FILE` (required: an AK is accepted only after activation)"},
			&cli.StringFlag{Name: "policy", Usage: "signed launch policy `FILE` the launch must be an entry of"},
			&cli.StringFlag{Name: "policy-key", Usage: "Ed25519 public key `FILE` the policy verifies under"},
			&cli.StringFlag{Name: "images", Usage: "`DIR` the policy's kernel and initrd paths are found under (with --policy)"},
			jsonFlag),
		clikit.ArgsCmd("export", "EVIDENCE", "write the evidence's quotes in the forms tpm2_checkquote reads", e.evidence(e.attestExport),
			&cli.StringFlag{Name: "tpm2-tools", Required: true, Usage: "`DIR` to write quote-BANK.msg/.sig, pcrs-BANK.bin, ak.pem, nonce.hex into (required)"}),
	}
}

// evidence is the action f on the EVIDENCE argument.
func (e *env) evidence(f func(*cli.Context, *attest.Evidence) error) cli.ActionFunc {
	return clikit.NArgs(1, 1, "one evidence file", func(c *cli.Context) error {
		ev, err := attest.ReadEvidence(c.Args().First())
		if err != nil {
			return fsys.NameInput(c.Args().First(), err)
		}
		return f(c, ev)
	})
}

func (e *env) attestChallenge(c *cli.Context, ev *attest.Evidence) error {
	cas, err := fsys.ReadInput(verifier.CAsInput, c.String("ek-ca"), verifier.ParseCAs)
	if err != nil {
		return err
	}
	ch, rec, err := verifier.MakeChallenge(ev, cas)
	if err == nil {
		err = verifier.SaveChallenge(ch, rec, c.String("out"), c.String("record"))
	}
	if err == nil {
		_, err = fmt.Fprintf(e.stdout, "challenge for AK %x in %s; the verifier keeps %s\n", []byte(ch.AKName), c.String("out"), c.String("record"))
	}
	return err
}

func (e *env) attestVerify(c *cli.Context) error {
	nonce, err := attest.ParseNonce(c.String("nonce"))
	if err != nil {
		return usage(fmt.Errorf("--nonce: %w", err))
	}
	return e.evidence(func(c *cli.Context, ev *attest.Evidence) error {
		cas, err := fsys.ReadInput(verifier.CAsInput, c.String("ek-ca"), verifier.ParseCAs)
		if err != nil {
			return err
		}
		rec, err := fsys.ReadInput(verifier.RecordInput, c.String("record"), verifier.ParseRecord)
		if err != nil {
			return err
		}
		pf := verifier.PolicyFiles{Policy: optionalString(c, "policy"), Key: optionalString(c, "policy-key"), Images: optionalString(c, "images")}
		pol, err := pf.Input()
		if err != nil {
			return err
		}
		rep, verr := verifier.Verify(ev, verifier.Options{Nonce: nonce, CAs: cas, Record: rec, Policy: pol})
		if errors.Is(verr, verifier.ErrImages) {
			verr = inputErr(c.String("images"), verr)
		}
		var text strings.Builder
		rep.WriteText(&text)
		return e.verdict(c, rep, text.String(), verr)
	})(c)
}

func (e *env) attestExport(c *cli.Context, ev *attest.Evidence) error {
	dir := c.String("tpm2-tools")
	n, cmds, err := verifier.WriteTPM2Tools(ev, dir)
	if errors.Is(err, attest.ErrMalformed) {
		return inputErr(c.Args().First(), err)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(e.stdout, verifier.TPM2ToolsText(n, dir, cmds))
	return err
}
