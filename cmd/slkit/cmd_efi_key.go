package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

// efiKeygenFlags are `slkit efi keygen`'s: the key files, and the PCRs to
// seal the private key to.
func efiKeygenFlags() []cli.Flag {
	return append(keygenFlags(),
		&cli.StringFlag{Name: "seal-pcrs", Usage: "seal the private key to these PCRs (e.g. 17,18: the dynamic launch) instead of writing it in clear; --out is then a sealed file"},
		&cli.StringFlag{Name: "pcr-values", Usage: "with --seal-pcrs: seal to these values (JSON of `slkit predict --drtm emulated --json`) instead of the current ones"},
		&cli.StringFlag{Name: "bank", Value: "sha256", Usage: "with --seal-pcrs: the PCR bank of the policy"},
	)
}

// efiKeygen is `slkit efi keygen`: the journal signing key pair, its
// private half in clear (PEM, as `policy keygen` writes it) or, with
// --seal-pcrs, only ever as a TPM sealed object: the 32-byte Ed25519 seed
// is sealed with tpm.Seal (forward-sealed with --pcr-values; PCR 17–22 add
// PolicyLocality(2)) and the sealed file is what --out holds. `efi queue
// --key` unseals it.
func efiKeygen(e *env, c *cli.Context) error {
	if !c.IsSet("seal-pcrs") {
		for _, f := range []string{"pcr-values", "bank"} {
			if c.IsSet(f) {
				return usageError{fmt.Errorf("efi keygen: --%s needs --seal-pcrs", f)}
			}
		}
		return policyKeygen(e, c)
	}
	if err := needFlags(c, "out"); err != nil {
		return err
	}
	st, err := parseSealTarget(c, "seal-pcrs", "17,18")
	if err != nil {
		return err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	pol, events, err := st.policy(t, nil)
	if err != nil {
		return err
	}
	seal := func(k ed25519.PrivateKey) ([]byte, error) {
		s, err := tpm.Seal(t, k.Seed(), pol, tpm.WithExpectedEvents(events))
		if err != nil {
			return nil, err
		}
		return s.Marshal()
	}
	key, pub := c.String("out"), c.String("pub")
	if pub == "" {
		pub = key + ".pub"
	}
	p, err := policy.GenerateKeyFilesWith(rand.Reader, key, pub, c.Bool("force"), seal)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (the private key sealed to %s, 0600; never written in clear) and %s; key id %s\n", key, pol, pub, policy.KeyID(p))
	return nil
}

// journalSigningKey reads `efi queue`'s --key: a sealed file (what `efi
// keygen --seal-pcrs` writes: JSON, unsealed here on the TPM, so that only
// the launch it is sealed to can sign), or a plain key (raw or PEM, a path
// or - for stdin).
func journalSigningKey(e *env, c *cli.Context) (ed25519.PrivateKey, error) {
	name := c.String("key")
	b, err := e.readKeyInput(name)
	if err != nil {
		return nil, err
	}
	if !sealedKeyFile(b) {
		return parseJournalKey(name, b, journal.ParsePrivateKey)
	}
	s, err := tpm.ParseSealed(b)
	if err != nil {
		return nil, inputError{name, err}
	}
	logs, problem, err := currentLogs(c.StringSlice("eventlog"))
	if err != nil {
		return nil, err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	seed, err := tpm.Unseal(t, s, tpm.WithEventLogs(logs...), tpm.WithLogUnavailable(problem))
	if err != nil {
		return nil, fmt.Errorf("%s: the journal signing key: %w", name, err)
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, inputError{name, errors.New("the sealed secret is not a 32-byte Ed25519 seed")}
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// sealedKeyFile tells a sealed key file (JSON, well over a kilobyte) from a
// plain one: raw keys are exactly 32 or 64 bytes, PEM starts with "-----".
func sealedKeyFile(b []byte) bool {
	return len(b) != ed25519.SeedSize && len(b) != ed25519.PrivateKeySize && len(b) > 0 && b[0] == '{'
}
