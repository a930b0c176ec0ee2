package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/update"
)

func policyCommand(e *env) *cli.Command {
	return clikit.Group("policy", "create, sign and verify launch policies (Ed25519, DSSE envelope)",
		clikit.Cmd("keygen", "create an Ed25519 key pair (PEM PKCS#8 private key 0600, PEM PKIX public key)", e.policyKeygen, keygenFlags()...),
		clikit.Cmd("sign", "check a policy document and sign its exact bytes", e.policySign,
			&cli.StringFlag{Name: "key", Required: true, Usage: "private key `FILE` (required)"},
			&cli.StringFlag{Name: "in", Required: true, Usage: "policy document `FILE` (JSON, required)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "signed policy `FILE` to write (required)"},
			&cli.BoolFlag{Name: "json", Usage: "print {\"in\":FILE,\"out\":FILE,\"entries\":N,\"keyid\":HEX}"}),
		clikit.ArgsCmd("verify", "SIGNED", "verify a signed policy under a public key (exit 3 if it does not verify)", clikit.NArgs(1, 1, "one signed policy FILE", e.policyVerify),
			&cli.StringFlag{Name: "pub", Required: true, Usage: "public key `FILE` (required)"}, jsonFlag),
		clikit.Cmd("confirm", "in the launched OS: confirm that the launch of this signed policy succeeded (the pre-launch stage then raises the TPM's minimum policy_version)", e.policyConfirm,
			&cli.StringFlag{Name: "policy", Required: true, Usage: "the signed policy this OS was launched with (e.g. /slkit/policy.json) `FILE` (required)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "the confirmation `FILE` the pre-launch stage reads (its --policy-confirm; required)"}),
	)
}

// keygenFlags are the flags of policyKeygen (`slkit policy keygen` and
// `slkit efi keygen`, which write the same key files).
func keygenFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Required: true, Usage: "private key `FILE` (required)"},
		&cli.StringFlag{Name: "pub", Usage: "public key `FILE` (default: the private key's name + .pub)"},
		&cli.BoolFlag{Name: "force", Usage: "replace existing key files"},
		&cli.BoolFlag{Name: "json", Usage: "print {\"private\":FILE,\"public\":FILE,\"keyid\":HEX}"},
	}
}

// keyPaths are --out and --pub (default: --out + ".pub").
func keyPaths(c *cli.Context) (key, pub string) {
	key, pub = c.String("out"), c.String("pub")
	if pub == "" {
		pub = key + ".pub"
	}
	return key, pub
}

func (e *env) policyKeygen(c *cli.Context) error {
	key, pub := keyPaths(c)
	if key == "-" || pub == "-" {
		return usage(errors.New("keygen writes two files (--out, --pub): give paths, not -"))
	}
	p, err := policy.GenerateKeyFiles(rand.Reader, key, pub, c.Bool("force"))
	if err != nil {
		return err
	}
	r := policy.KeygenReport{KeyID: policy.KeyID(p), Private: key, Public: pub}
	return e.report(c, r, r.Text())
}

func (e *env) policySign(c *cli.Context) error {
	in, out := c.String("in"), c.String("out")
	if err := fsys.CheckOutput(out); err != nil {
		return err
	}
	key, err := fsys.ReadInput(policy.KeyInput, c.String("key"), policy.ParsePrivateKey)
	if err != nil {
		return err
	}
	payload, err := policy.DocumentInput.Read(in)
	if err != nil {
		return err
	}
	signed, p, err := launch.SignPolicy(payload, key)
	if err != nil {
		return inputErr(in, err)
	}
	if err := e.writeOutput(out, signed, 0o644, false); err != nil || out == "-" {
		return err
	}
	r := policy.SignReport{Entries: len(p.Entries), In: in, KeyID: policy.KeyID(key.Public().(ed25519.PublicKey)), Out: out}
	return e.report(c, r, r.Text())
}

func (e *env) policyVerify(c *cli.Context) error {
	name := c.Args().First()
	pub, err := fsys.ReadInput(policy.KeyInput, c.String("pub"), policy.ParsePublicKey)
	if err != nil {
		return err
	}
	signed, err := policy.SignedInput.Read(name)
	if err != nil {
		return err
	}
	v, err := launch.VerifyPolicy(signed, pub)
	if err != nil {
		return inputErr(name, err)
	}
	return e.report(c, v, v.Text(name))
}

// policyConfirm confirms the launch of the signed policy this OS was
// launched with (update.ConfirmPolicy): the next launch of the same policy
// raises the TPM's minimum policy_version to its version.
func (e *env) policyConfirm(c *cli.Context) error {
	v, err := update.ConfirmPolicy(c.String("policy"), c.String("out"))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s: confirmed policy_version %d for the next launch of this policy\n", c.String("out"), v)
	return err
}
