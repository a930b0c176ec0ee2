package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
)

func policyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "create, sign and verify launch policies (Ed25519, DSSE envelope)",
		Subcommands: []*cli.Command{
			{
				Name: "keygen", Usage: "create an Ed25519 key pair (PEM PKCS#8 private key 0600, PEM PKIX public key)",
				Flags:  keygenFlags(),
				Action: func(c *cli.Context) error { return policyKeygen(e, c) },
			},
			{
				Name: "sign", Usage: "check a policy document and sign its exact bytes",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "key", Usage: "private key `FILE` (required)"},
					&cli.StringFlag{Name: "in", Usage: "policy document `FILE` (JSON, required)"},
					&cli.StringFlag{Name: "out", Usage: "signed policy `FILE` to write (required)"},
					&cli.BoolFlag{Name: "json", Usage: "print {\"in\":FILE,\"out\":FILE,\"entries\":N,\"keyid\":HEX}"},
				},
				Action: func(c *cli.Context) error { return policySign(e, c) },
			},
			{
				Name: "verify", Usage: "verify a signed policy under a public key (exit 3 if it does not verify)", ArgsUsage: "SIGNED",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "pub", Usage: "public key `FILE` (required)"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error { return policyVerify(e, c) },
			},
			{
				Name: "confirm", Usage: "in the launched OS: confirm that the launch of this signed policy succeeded (the pre-launch stage then raises the TPM's minimum policy_version)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "policy", Usage: "the signed policy this OS was launched with (e.g. /slkit/policy.json) `FILE` (required)"},
					&cli.StringFlag{Name: "out", Usage: "the confirmation `FILE` the pre-launch stage reads (its --policy-confirm; required)"},
				},
				Action: func(c *cli.Context) error { return policyConfirm(e, c) },
			},
		},
	}
}

// keygenFlags are the flags of policyKeygen (`slkit policy keygen` and
// `slkit efi keygen`, which write the same key files).
func keygenFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Usage: "private key `FILE` (required)"},
		&cli.StringFlag{Name: "pub", Usage: "public key `FILE` (default: the private key's name + .pub)"},
		&cli.BoolFlag{Name: "force", Usage: "replace existing key files"},
		&cli.BoolFlag{Name: "json", Usage: "print {\"private\":FILE,\"public\":FILE,\"keyid\":HEX}"},
	}
}

func policyKeygen(e *env, c *cli.Context) error {
	if err := needFlags(c, "out"); err != nil {
		return err
	}
	key, pub := c.String("out"), c.String("pub")
	if pub == "" {
		pub = key + ".pub"
	}
	if key == "-" || pub == "-" {
		return usageError{errors.New("keygen writes two files (--out, --pub): give paths, not -")}
	}
	p, err := policy.GenerateKeyFiles(rand.Reader, key, pub, c.Bool("force"))
	if err != nil {
		return err
	}
	id := policy.KeyID(p)
	return e.report(c, map[string]string{"private": key, "public": pub, "keyid": id},
		fmt.Sprintf("wrote %s (private, 0600) and %s; key id %s\n", key, pub, id))
}

func policySign(e *env, c *cli.Context) error {
	if err := needFlags(c, "key", "in", "out"); err != nil {
		return err
	}
	in, out := c.String("in"), c.String("out")
	if err := checkOutput(out); err != nil {
		return err
	}
	key, err := readParsed(c.String("key"), inKey, policy.ParsePrivateKey)
	if err != nil {
		return err
	}
	payload, err := readInput(in, inPolicyDoc)
	if err != nil {
		return err
	}
	p, err := policy.Parse(payload)
	if err != nil {
		return inputError{in, err}
	}
	if err := launch.CheckPolicy(p); err != nil {
		return inputError{in, err}
	}
	signed, err := policy.Sign(payload, key)
	if err != nil {
		return inputError{in, err}
	}
	if err := e.writeOutput(out, signed, 0o644, false); err != nil {
		return err
	}
	if out == "-" {
		return nil
	}
	id := policy.KeyID(key.Public().(ed25519.PublicKey))
	return e.report(c, map[string]any{"in": in, "out": out, "entries": len(p.Entries), "keyid": id},
		fmt.Sprintf("signed %s (%d entries) with key %s: %s\n", in, len(p.Entries), id, out))
}

func policyVerify(e *env, c *cli.Context) error {
	if err := needArgs(c, 1, 1, "one signed policy FILE"); err != nil {
		return err
	}
	if err := needFlags(c, "pub"); err != nil {
		return err
	}
	name := c.Args().First()
	pub, err := readParsed(c.String("pub"), inKey, policy.ParsePublicKey)
	if err != nil {
		return err
	}
	signed, err := readInput(name, inSigned)
	if err != nil {
		return err
	}
	v, err := launch.VerifyPolicy(signed, pub)
	if err != nil {
		return inputError{name, err}
	}
	return e.report(c, v, v.Text(name))
}
