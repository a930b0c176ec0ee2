package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

// queueFlags are the flags of every `efi queue` change command.
func queueFlags(data bool) []cli.Flag {
	fs := append(journalFlags(),
		&cli.StringFlag{Name: "key", Required: true, Usage: "Ed25519 private key `FILE` signing the journal: a sealed file of `efi keygen --seal-pcrs` (unsealed on the TPM), or raw or PEM; - reads stdin (required)"},
		&cli.StringSliceFlag{Name: "eventlog", Usage: "event log `FILE`(s) that explain a refused unseal of a sealed --key (e.g. the DRTM log; default: the firmware log, if readable)"},
		&cli.StringFlag{Name: "expect-hex", Usage: "apply only if the variable's current data is `HEX`"},
		&cli.StringFlag{Name: "expect-file", Usage: "apply only if the variable's current data is the content of `FILE`"},
		&cli.BoolFlag{Name: "expect-absent", Usage: "apply only if the variable does not exist"},
		&cli.BoolFlag{Name: "expect-current", Usage: "apply only if the variable still holds what it holds now (read through --efivars)"},
		efivarsFlag,
		&cli.BoolFlag{Name: "reboot", Usage: "the change takes effect only through a firmware reboot"},
		&cli.BoolFlag{Name: "json", Usage: "print {\"op\",\"var\",\"journal\":FILE,\"generation\":N,\"entries\":N}"},
	)
	if data {
		fs = append(fs,
			&cli.StringFlag{Name: "attr", Value: "NV|BS|RT", Usage: "attributes (NV, BS, RT, AT or a number)"},
			&cli.StringFlag{Name: efi.ValueHex, Usage: "the data as `HEX`"},
			&cli.StringFlag{Name: "file", Usage: "the data from `FILE` (e.g. a signed EFI_VARIABLE_AUTHENTICATION_2 write)"},
			&cli.StringFlag{Name: efi.ValueU16, Usage: "the data as a little-endian 16-bit `NUMBER` (BootNext, Timeout)"},
			&cli.StringFlag{Name: efi.ValueBootOrder, Usage: "the data as a BootOrder `LIST` of hex option numbers (0001,0003)"},
		)
	}
	return fs
}

// changeFromFlags maps the queue flags to a journal.Change.
func changeFromFlags(c *cli.Context, op journal.Op, open varsOpener) (ch journal.Change, err error) {
	ch = journal.Change{Op: op, Reboot: c.Bool("reboot"), Var: efi.OsIndications}
	if op != journal.OpOsIndications {
		ch.Var, err = parseVarArg(c)
	} else if err = clikit.NeedArgs(c, 0, 0, "no arguments"); err == nil {
		for _, f := range []struct {
			name string
			dst  *uint64
		}{{"set", &ch.SetBits}, {"clear", &ch.ClearBits}} {
			if s := c.String(f.name); s != "" && err == nil {
				*f.dst, err = efi.ParseOsIndicationBits(s)
				err = asUsage(err)
			}
		}
	}
	if err == nil && (op == journal.OpSet || op == journal.OpAppend) {
		if ch.Attr, err = efi.ParseAttr(c.String("attr")); err != nil {
			return ch, usage(err)
		}
		ch.Data, err = varData(c, "", efi.ValueHex, "file", efi.ValueU16, efi.ValueBootOrder)
	}
	if err != nil {
		return ch, err
	}
	if n := clikit.CountSet(c, "expect-hex", "expect-file", "expect-absent", "expect-current"); n > 1 {
		return ch, usage(errors.New("give at most one of --expect-hex, --expect-file, --expect-absent, --expect-current"))
	}
	switch {
	case c.Bool("expect-current"):
		v, err := open(c)
		if err != nil {
			return ch, err
		}
		ch.Expect, err = journal.ExpectNow(v, ch.Var)
		return ch, err
	case c.Bool("expect-absent"):
		ch.Expect = journal.Expect{Kind: journal.ExpectAbsent}
	case c.IsSet("expect-hex") || c.IsSet("expect-file"):
		b, err := varData(c, "expect-", "expect-hex", "expect-file")
		ch.Expect = journal.ExpectData(b)
		return ch, err
	}
	return ch, nil
}

// varData is the data of exactly one of the flags given (efi.ParseValueText,
// or a file read for PREFIX+"file"; named without prefix in the text form).
func varData(c *cli.Context, prefix string, flags ...string) ([]byte, error) {
	var set []string
	for _, f := range flags {
		if c.IsSet(f) {
			set = append(set, f)
		}
	}
	if len(set) != 1 {
		return nil, usage(fmt.Errorf("%s: give exactly one of --hex, --file, --u16, --boot-order (got %d)", c.Command.FullName(), len(set)))
	}
	if set[0] == prefix+"file" {
		return journal.VarDataInput.Read(c.String(set[0]))
	}
	b, err := efi.ParseValueText(set[0][len(prefix):], c.String(set[0]))
	if err != nil {
		return nil, usage(fmt.Errorf("--%s: %w", set[0], err))
	}
	return b, nil
}

// asUsage makes err (if any) a usage error.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return usage(err)
}

func (e *env) efiQueue(c *cli.Context, op journal.Op, open varsOpener) error {
	jp, sp, err := journalPaths(c)
	if err != nil {
		return err
	}
	ch, err := changeFromFlags(c, op, open)
	if err != nil {
		return err
	}
	key, err := journalSigningKey(e, c)
	if err != nil {
		return err
	}
	var j *journal.Journal
	err = withJournalAnchor(e, c, func(opts []journal.Option) error {
		j, err = journal.Enqueue(jp, sp, key, []journal.Change{ch}, opts...)
		return err
	})
	if err != nil {
		return err
	}
	q := j.Queued(jp, ch)
	return e.report(c, q, q.Text())
}

func (e *env) efiQueueList(c *cli.Context, verify bool) error {
	jp, sp, err := journalPaths(c)
	if err != nil {
		return err
	}
	var pub ed25519.PublicKey
	if c.IsSet("pub") {
		if pub, err = loadJournalKey(e, c.String("pub"), journal.ParsePublicKey); err != nil {
			return err
		}
	}
	var l *journal.Listing
	err = withJournalAnchor(e, c, func(opts []journal.Option) error {
		l, err = journal.Inspect(jp, sp, pub, opts...)
		return err
	})
	switch {
	case err != nil:
		return err
	case l == nil && verify:
		return inputErr(jp, errors.New("no journal"))
	case l == nil:
		return e.report(c, nil, jp+": nothing queued\n")
	}
	return e.report(c, l, l.Text(jp, sp, !verify))
}

// journalPaths are --journal and its state file, each checked.
func journalPaths(c *cli.Context) (string, string, error) {
	j := c.String("journal")
	s := journal.StatePath(j, c.String("state"))
	return j, s, checkJournalFiles(j, s)
}

// checkJournalFiles refuses, before any TPM command, a journal or state
// file that is not a regular file within its limit (a missing one is
// fine: nothing queued, or nothing committed yet).
func checkJournalFiles(j, s string) error {
	if err := journal.Input.Check(j, true); err != nil {
		return err
	}
	return journal.StateInput.Check(s, true)
}

// readKeyInput reads a journal key file, or stdin for "-" (as `slkit
// unseal` writes it).
func (e *env) readKeyInput(path string) ([]byte, error) {
	b, err := e.readArg(path, journal.KeyInput)
	if err == nil && len(b) == 0 {
		return nil, inputErr("stdin", errors.New("no key on standard input"))
	}
	return b, err
}

// loadJournalKey reads and parses a journal key file ("-": stdin); an
// error names it.
func loadJournalKey[K any](e *env, path string, parse func([]byte) (K, error)) (K, error) {
	b, err := e.readKeyInput(path)
	if err != nil {
		var zero K
		return zero, err
	}
	return parseJournalKey(path, b, parse)
}

func parseJournalKey[K any](path string, b []byte, parse func([]byte) (K, error)) (K, error) {
	k, err := parse(b)
	if err != nil && path == "-" {
		path = "stdin"
	}
	if err != nil {
		return k, inputErr(path, err)
	}
	return k, nil
}

// journalSigningKey reads `efi queue`'s --key: a sealed file (what `efi
// keygen --seal-pcrs` writes: unsealed here on the TPM, so that only the
// launch it is sealed to can sign), or a plain key (raw or PEM, a path or
// - for stdin).
func journalSigningKey(e *env, c *cli.Context) (ed25519.PrivateKey, error) {
	name := c.String("key")
	b, err := e.readKeyInput(name)
	if err != nil {
		return nil, err
	}
	if !update.IsSealedKey(b) {
		return parseJournalKey(name, b, journal.ParsePrivateKey)
	}
	s, err := tpm.ParseSealed(b)
	if err != nil {
		return nil, inputErr(name, err)
	}
	logs, problem, err := tpm.ExplainingLogs(c.StringSlice("eventlog"))
	if err != nil {
		return nil, err
	}
	var key ed25519.PrivateKey
	err = e.withTPM(c, func(t *tpm.Conn) error {
		key, err = update.UnsealKey(t, s, tpm.WithEventLogs(logs...), tpm.WithLogUnavailable(problem))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return key, nil
}

// efiKeygen is `slkit efi keygen`: the journal signing key pair, its
// private half in clear (PEM, as `policy keygen` writes it) or, with
// --seal-pcrs, only ever as a TPM sealed object (update.SealKey: PCR
// 17–22 add PolicyLocality(2)); `efi queue --key` unseals it. With
// --secure-boot, a Secure Boot key set instead.
func (e *env) efiKeygen(c *cli.Context) error {
	if c.Bool("secure-boot") {
		return secureBootKeygen(e, c)
	}
	if err := clikit.OnlyWith(c, "seal-pcrs", "pcr-values", "bank"); err != nil || !c.IsSet("seal-pcrs") {
		if err != nil {
			return err
		}
		return e.policyKeygen(c)
	}
	st, err := parseSealTarget(c, "seal-pcrs", "17,18")
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		pol, events, err := st.Policy(t, nil)
		if err != nil {
			return err
		}
		key, pub := keyPaths(c)
		p, err := policy.GenerateKeyFilesWith(rand.Reader, key, pub, c.Bool("force"), update.SealKey(t, pol, events))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "wrote %s (the private key sealed to %s, 0600; never written in clear) and %s; key id %s\n", key, pol, pub, policy.KeyID(p))
		return err
	})
}
