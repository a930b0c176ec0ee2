package main

import (
	"crypto/ed25519"
	"errors"

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

// changeFromFlags copies the queue flags into a journal.ChangeRequest,
// which checks them and makes the journal.Change.
func changeFromFlags(c *cli.Context, op journal.Op, open varsOpener) (journal.Change, error) {
	r := journal.ChangeRequest{Command: c.Command.FullName(), Op: op, Reboot: c.Bool("reboot"),
		SetBits: c.String("set"), ClearBits: c.String("clear"), Attr: c.String("attr"),
		Data:         givenValues(c, "", efi.ValueHex, journal.ValueFile, efi.ValueU16, efi.ValueBootOrder),
		ExpectData:   givenValues(c, "expect-", efi.ValueHex, journal.ValueFile),
		ExpectAbsent: c.Bool("expect-absent"), ExpectCurrent: c.Bool("expect-current")}
	var err error
	if op != journal.OpOsIndications {
		r.Var, err = parseVarArg(c)
	} else {
		err = clikit.NeedArgs(c, 0, 0, "no arguments")
	}
	if err != nil {
		return journal.Change{}, err
	}
	return r.Change(func() (*efi.Vars, error) { return open(c) })
}

// givenValues are the flags PREFIX+FORM given, each a journal.Value.
func givenValues(c *cli.Context, prefix string, forms ...string) []journal.Value {
	var out []journal.Value
	for _, f := range forms {
		if c.IsSet(prefix + f) {
			out = append(out, journal.Value{Form: f, Text: c.String(prefix + f)})
		}
	}
	return out
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

// journalPaths are --journal and its state file, each checked before any
// TPM command (journal.CheckedPaths).
func journalPaths(c *cli.Context) (string, string, error) {
	return journal.CheckedPaths(c.String("journal"), c.String("state"))
}

// loadJournalKey reads and parses a journal key file ("-": stdin); an
// error names it (journal.ParseKeyFile).
func loadJournalKey[K any](e *env, path string, parse func([]byte) (K, error)) (K, error) {
	b, err := e.readArg(path, journal.KeyInput)
	if err != nil {
		var zero K
		return zero, err
	}
	return journal.ParseKeyFile(path, b, parse)
}

// journalSigningKey reads `efi queue`'s --key, sealed or plain
// (update.SigningKeyFile: a sealed key is unsealed on the TPM).
func journalSigningKey(e *env, c *cli.Context) (ed25519.PrivateKey, error) {
	b, err := e.readArg(c.String("key"), journal.KeyInput)
	if err != nil {
		return nil, err
	}
	f := update.SigningKeyFile{Path: c.String("key"), Data: b, EventLogs: c.StringSlice("eventlog"),
		OpenTPM: func() (*tpm.Conn, error) { return e.openTPM(c) }}
	return f.Key()
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
	key, pub := keyPaths(c)
	return reportTPM(e, c, func(t *tpm.Conn) (*policy.KeygenReport, error) {
		return update.GenerateSealedKeyFiles(t, st, key, pub, c.Bool("force"))
	})
}
