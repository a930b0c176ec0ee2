//go:build !slkit_image

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/attest/verifier"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
)

// attestVerifierCommands are the verifier's side of `slkit attest`; they
// link go-attestation, which the image build leaves out.
func attestVerifierCommands(e *env) []*cli.Command {
	return []*cli.Command{
		{
			Name:      "challenge",
			Usage:     "verifier: make a credential-activation challenge for the evidence's EK and AK",
			ArgsUsage: "EVIDENCE",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "ek-ca", Usage: "PEM `FILE` of the EK certificate authorities (self-signed roots and intermediates; required)"},
				&cli.StringFlag{Name: "out", Usage: "challenge `FILE` to send to the machine (required)"},
				&cli.StringFlag{Name: "record", Usage: "`FILE` the verifier keeps to check the answer (required)"},
			},
			Action: func(c *cli.Context) error { return attestChallenge(e, c) },
		},
		{
			Name:      "verify",
			Usage:     "verifier: check evidence: EK chain, AK activation, quotes and nonce, every log against the quotes, the launched policy entry (exit 3 if not)",
			ArgsUsage: "EVIDENCE",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "nonce", Usage: "the nonce given for this attestation, `HEX` (required)"},
				&cli.StringFlag{Name: "ek-ca", Usage: "PEM `FILE` of the EK certificate authorities (required)"},
				&cli.StringFlag{Name: "record", Usage: "the challenge's record `FILE` (required: an AK is accepted only after activation)"},
				&cli.StringFlag{Name: "policy", Usage: "signed launch policy `FILE` the launch must be an entry of"},
				&cli.StringFlag{Name: "policy-key", Usage: "Ed25519 public key `FILE` the policy verifies under"},
				&cli.StringFlag{Name: "images", Usage: "`DIR` the policy's kernel and initrd paths are found under (with --policy)"},
				jsonFlag,
			},
			Action: func(c *cli.Context) error { return attestVerify(e, c) },
		},
		{
			Name:      "export",
			Usage:     "write the evidence's quotes in the forms tpm2_checkquote reads",
			ArgsUsage: "EVIDENCE",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "tpm2-tools", Usage: "`DIR` to write quote-BANK.msg/.sig, pcrs-BANK.bin, ak.pem, nonce.hex into (required)"},
			},
			Action: func(c *cli.Context) error { return attestExport(e, c) },
		},
	}
}

// readEvidence reads the EVIDENCE argument.
func readEvidence(c *cli.Context) (*attest.Evidence, error) {
	if err := needArgs(c, 1, 1, "one evidence file"); err != nil {
		return nil, err
	}
	name := c.Args().First()
	ev, err := attest.ReadEvidence(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, inputErr(name, err)
	}
	return ev, nil
}

// Input kinds of the verifier side of attestation.
var (
	inCAs    = fsys.Input{What: "CA certificates", Max: verifier.MaxCAFileSize}
	inRecord = fsys.Input{What: "activation record", Max: verifier.MaxRecordSize}
)

func readCAs(name string) (*verifier.CAs, error) {
	b, err := inCAs.Read(name)
	if err != nil {
		return nil, err
	}
	cas, err := verifier.ParseCAs(b)
	if err != nil {
		return nil, inputErr(name, err)
	}
	return cas, nil
}

func attestChallenge(e *env, c *cli.Context) error {
	if err := needFlags(c, "ek-ca", "out", "record"); err != nil {
		return err
	}
	ev, err := readEvidence(c)
	if err != nil {
		return err
	}
	cas, err := readCAs(c.String("ek-ca"))
	if err != nil {
		return err
	}
	ch, rec, err := verifier.MakeChallenge(ev, cas)
	if err != nil {
		return err
	}
	cb, err := ch.Marshal()
	if err != nil {
		return err
	}
	rb, err := rec.Marshal()
	if err != nil {
		return err
	}
	if err := fsys.WriteFile(fsys.OS{}, c.String("record"), rb, 0o600); err != nil {
		return err
	}
	if err := fsys.WriteFile(fsys.OS{}, c.String("out"), cb, 0o644); err != nil {
		os.Remove(c.String("record"))
		return err
	}
	fmt.Fprintf(e.stdout, "challenge for AK %x in %s; the verifier keeps %s\n", []byte(ch.AKName), c.String("out"), c.String("record"))
	return nil
}

func attestVerify(e *env, c *cli.Context) error {
	if err := needFlags(c, "nonce", "ek-ca", "record"); err != nil {
		return err
	}
	nonce, err := attest.ParseNonce(c.String("nonce"))
	if err != nil {
		return usageError{fmt.Errorf("--nonce: %w", err)}
	}
	ev, err := readEvidence(c)
	if err != nil {
		return err
	}
	cas, err := readCAs(c.String("ek-ca"))
	if err != nil {
		return err
	}
	rb, err := inRecord.Read(c.String("record"))
	if err != nil {
		return err
	}
	rec, err := verifier.ParseRecord(rb)
	if err != nil {
		return inputErr(c.String("record"), err)
	}
	o := verifier.Options{Nonce: nonce, CAs: cas, Record: rec}
	if c.IsSet("policy") || c.IsSet("policy-key") || c.IsSet("images") {
		if err := needFlags(c, "policy", "policy-key", "images"); err != nil {
			return err
		}
		signed, err := inSigned.Read(c.String("policy"))
		if err != nil {
			return err
		}
		pub, err := fsys.ReadInput(inKey, c.String("policy-key"), policy.ParsePublicKey)
		if err != nil {
			return err
		}
		o.Policy = &verifier.PolicyInput{Signed: signed, Key: pub, Images: os.DirFS(c.String("images"))}
	}
	rep, verr := verifier.Verify(ev, o)
	if c.Bool("json") {
		if err := e.writeJSON(rep); err != nil {
			return err
		}
	} else {
		rep.WriteText(e.stdout)
	}
	if errors.Is(verr, verifier.ErrImages) {
		return inputErr(c.String("images"), verr)
	}
	return verr
}

func attestExport(e *env, c *cli.Context) error {
	if err := needFlags(c, "tpm2-tools"); err != nil {
		return err
	}
	ev, err := readEvidence(c)
	if err != nil {
		return err
	}
	files, cmds, err := verifier.ExportTPM2Tools(ev)
	if err != nil {
		return inputErr(c.Args().First(), err)
	}
	dir := c.String("tpm2-tools")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := fsys.WriteFile(fsys.OS{}, filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "wrote %d files to %s; check each quote there with:\n", len(files), dir)
	for _, cmd := range cmds {
		fmt.Fprintf(e.stdout, "  %s\n", cmd)
	}
	return nil
}
