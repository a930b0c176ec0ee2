package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
)

// queueFlags are the flags of every `efi queue` change command.
func queueFlags(data bool) []cli.Flag {
	fs := append(journalFlags(),
		&cli.StringFlag{Name: "key", Usage: "Ed25519 private key `FILE` signing the journal: a sealed file of `efi keygen --seal-pcrs` (unsealed on the TPM), or raw or PEM; - reads stdin (required)"},
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
			&cli.StringFlag{Name: "hex", Usage: "the data as `HEX`"},
			&cli.StringFlag{Name: "file", Usage: "the data from `FILE` (e.g. a signed EFI_VARIABLE_AUTHENTICATION_2 write)"},
			&cli.StringFlag{Name: "u16", Usage: "the data as a little-endian 16-bit `NUMBER` (BootNext, Timeout)"},
			&cli.StringFlag{Name: "boot-order", Usage: "the data as a BootOrder `LIST` of hex option numbers (0001,0003)"},
		)
	}
	return fs
}

// changeFromFlags maps the queue flags to a journal.Change.
func changeFromFlags(c *cli.Context, op journal.Op, open varsOpener) (journal.Change, error) {
	ch := journal.Change{Op: op, Reboot: c.Bool("reboot")}
	if op == journal.OpOsIndications {
		if err := needArgs(c, 0, 0, "no arguments"); err != nil {
			return ch, err
		}
		ch.Var = efi.OsIndications
		for _, f := range []struct {
			name string
			dst  *uint64
		}{{"set", &ch.SetBits}, {"clear", &ch.ClearBits}} {
			if s := c.String(f.name); s != "" {
				v, err := efi.ParseOsIndicationBits(s)
				if err != nil {
					return ch, usageError{err}
				}
				*f.dst = v
			}
		}
	} else {
		n, err := parseVarArg(c)
		if err != nil {
			return ch, err
		}
		ch.Var = n
	}
	if op == journal.OpSet || op == journal.OpAppend {
		a, err := efi.ParseAttr(c.String("attr"))
		if err != nil {
			return ch, usageError{err}
		}
		ch.Attr = a
		if ch.Data, err = dataFromFlags(c); err != nil {
			return ch, err
		}
	}
	x, err := expectFromFlags(c, ch.Var, open)
	ch.Expect = x
	return ch, err
}

// dataFromFlags is the data of exactly one of --hex, --file, --u16 and
// --boot-order (efi.ParseValueText).
func dataFromFlags(c *cli.Context) ([]byte, error) {
	var set []string
	for _, f := range []string{efi.ValueHex, "file", efi.ValueU16, efi.ValueBootOrder} {
		if c.IsSet(f) {
			set = append(set, f)
		}
	}
	if len(set) != 1 {
		return nil, usageError{fmt.Errorf("%s: give exactly one of --hex, --file, --u16, --boot-order (got %d)", c.Command.FullName(), len(set))}
	}
	if set[0] == "file" {
		return readInput(c.String("file"), inVarData)
	}
	b, err := efi.ParseValueText(set[0], c.String(set[0]))
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %w", set[0], err)}
	}
	return b, nil
}

func expectFromFlags(c *cli.Context, name efi.Name, open varsOpener) (journal.Expect, error) {
	n := 0
	for _, f := range []string{"expect-hex", "expect-file", "expect-absent", "expect-current"} {
		if c.IsSet(f) {
			n++
		}
	}
	switch {
	case n > 1:
		return journal.Expect{}, usageError{errors.New("give at most one of --expect-hex, --expect-file, --expect-absent, --expect-current")}
	case c.Bool("expect-current"):
		v, err := open(c)
		if err != nil {
			return journal.Expect{}, err
		}
		return journal.ExpectNow(v, name)
	case c.Bool("expect-absent"):
		return journal.Expect{Kind: journal.ExpectAbsent}, nil
	case c.IsSet("expect-hex"):
		b, err := efi.ParseValueText(efi.ValueHex, c.String("expect-hex"))
		if err != nil {
			return journal.Expect{}, usageError{fmt.Errorf("--expect-hex: %w", err)}
		}
		return journal.ExpectData(b), nil
	case c.IsSet("expect-file"):
		b, err := readInput(c.String("expect-file"), inVarData)
		if err != nil {
			return journal.Expect{}, err
		}
		return journal.ExpectData(b), nil
	}
	return journal.Expect{}, nil
}

func efiQueue(e *env, c *cli.Context, op journal.Op, open varsOpener) error {
	if err := needFlags(c, "key"); err != nil {
		return err
	}
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
	return e.report(c, map[string]any{"op": op.String(), "var": ch.Var, "journal": jp, "generation": j.Generation, "entries": len(j.Entries)},
		fmt.Sprintf("queued %s %s: %s generation %d, %d entries\n", op, ch.Var, jp, j.Generation, len(j.Entries)))
}

func efiQueueList(e *env, c *cli.Context, verify bool) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	if verify {
		if err := needFlags(c, "pub"); err != nil {
			return err
		}
	}
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
	if err != nil {
		return err
	}
	if l == nil {
		if verify {
			return inputError{jp, errors.New("no journal")}
		}
		if c.Bool("json") {
			return e.writeJSON(nil)
		}
		fmt.Fprintf(e.stdout, "%s: nothing queued\n", jp)
		return nil
	}
	if c.Bool("json") {
		return e.writeJSON(l)
	}
	fmt.Fprint(e.stdout, l.Text(jp, sp, !verify))
	return nil
}
