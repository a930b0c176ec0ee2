package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

func anchorCommand(e *env) *cli.Command {
	return clikit.Group("anchor", "the TPM NV anchors: counters only the pre-launch stage raises and nobody lowers (journal generation, policy version, update window)",
		clikit.ArgsCmd("status", "[INDEX...]", "show each anchor: defined, slkit's, value", e.anchorStatus, jsonFlag),
		clikit.ArgsCmd("define", "[INDEX...]", "define anchors with the owner authorization (a TPM with an owner password); the next pre-launch stage writes them", e.anchorDefine,
			&cli.StringFlag{Name: "owner-auth-file", Usage: "the owner authorization (password) in `FILE` (default: empty)"}),
	)
}

// anchorIndices are the INDEX arguments, or every anchor of slkit's.
func anchorIndices(c *cli.Context) ([]uint32, error) {
	if c.NArg() == 0 {
		return tpm.AnchorIndices(), nil
	}
	var out []uint32
	for _, s := range c.Args().Slice() {
		n, err := tpm.ParseAnchorIndex(s)
		if err != nil {
			return nil, badIndex("anchor", s, tpm.DefaultJournalAnchorIndex)
		}
		out = append(out, n)
	}
	return out, nil
}

func (e *env) anchorStatus(c *cli.Context) error {
	idx, err := anchorIndices(c)
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		out, err := tpm.ReadAnchorStates(t, idx)
		if err != nil {
			return err
		}
		return e.report(c, out, out.Text())
	})
}

func (e *env) anchorDefine(c *cli.Context) error {
	idx, err := anchorIndices(c)
	if err != nil {
		return err
	}
	var auth []byte
	if f := c.String("owner-auth-file"); f != "" {
		if auth, err = tpm.OwnerAuthInput.Read(f); err != nil {
			return err
		}
		auth = []byte(strings.TrimRight(string(auth), "\n"))
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		for _, i := range idx {
			line, err := tpm.DefineAnchorLine(t, i, tpm.WithOwnerAuth(auth))
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, line)
		}
		return nil
	})
}

// badIndex is the usage error for value given as what (an argument or a
// --flag) where an NV index like example belongs.
func badIndex(what, value string, example uint32) error {
	return usage(fmt.Errorf("%s %q: want an NV index such as %#08x", what, value, example))
}

// parseIndex reads an anchor's NV index flag; "none" is 0.
func parseIndex(c *cli.Context, name string) (uint32, error) {
	v := c.String(name)
	if v == "none" {
		return 0, nil
	}
	n, err := tpm.ParseAnchorIndex(v)
	if err != nil {
		return 0, badIndex("--"+name, v, tpm.DefaultJournalAnchorIndex)
	}
	return n, nil
}

// parseCounter reads an update-window counter's NV index flag.
func parseCounter(c *cli.Context, flag string) (uint32, error) {
	n, err := strconv.ParseUint(c.String(flag), 0, 32)
	if err != nil {
		return 0, badIndex("--"+flag, c.String(flag), tpm.DefaultCounterIndex)
	}
	if _, err := tpm.CounterAt(uint32(n)); err != nil {
		return 0, usage(fmt.Errorf("--%s: %w", flag, err))
	}
	return uint32(n), nil
}

func journalAnchorOpts(c *cli.Context, t tpm.TPMSender) ([]journal.Option, error) {
	idx, err := parseIndex(c, "anchor")
	if err != nil || idx == 0 {
		return nil, err
	}
	a, err := update.JournalAnchor(t, idx)
	if err != nil || a == nil {
		return nil, err
	}
	return []journal.Option{journal.WithAnchor(a)}, nil
}

// withJournalAnchor runs f with the journal's anchor options from the TPM.
// Without a TPM it fails, unless --anchor none: a journal numbered from
// the state file alone could take a generation the anchor has already
// passed, and the pre-launch stage would then skip it as applied.
func withJournalAnchor(e *env, c *cli.Context, f func(opts []journal.Option) error) error {
	if idx, err := parseIndex(c, "anchor"); err != nil || idx == 0 {
		if err != nil {
			return err
		}
		return f(nil)
	}
	t, err := e.openTPM(c)
	if err != nil {
		return fmt.Errorf("the journal's anchor (--anchor %s) cannot be read: %w (--anchor none numbers generations from the state file alone)", c.String("anchor"), err)
	}
	defer t.Close()
	opts, err := journalAnchorOpts(c, t)
	if err != nil {
		return err
	}
	return f(opts)
}
