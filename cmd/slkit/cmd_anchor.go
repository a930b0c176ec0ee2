package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
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
	var out []uint32
	for _, a := range tpm.AnchorNames {
		out = append(out, a.Index)
	}
	if c.NArg() > 0 {
		out = nil
	}
	for _, s := range c.Args().Slice() {
		n, err := strconv.ParseUint(s, 0, 32)
		if err == nil {
			_, err = tpm.AnchorAt(uint32(n))
		}
		if err != nil {
			return nil, usage(fmt.Errorf("anchor %q: want an NV index such as %#08x", s, tpm.DefaultJournalAnchorIndex))
		}
		out = append(out, uint32(n))
	}
	return out, nil
}

func (e *env) anchorStatus(c *cli.Context) error {
	idx, err := anchorIndices(c)
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		var out []*tpm.AnchorState
		text := ""
		for _, i := range idx {
			st, err := tpm.ReadAnchorState(t, i)
			if err != nil {
				return err
			}
			out, text = append(out, st), text+st.String()+"\n"
		}
		return e.report(c, out, text)
	})
}

// inOwnerAuth is an owner authorisation file: at most a SHA-256-sized
// authValue (Part 1 §19.6.4) and a line end.
var inOwnerAuth = fsys.Input{What: "owner authorisation file", Max: 64 + 2}

func (e *env) anchorDefine(c *cli.Context) error {
	idx, err := anchorIndices(c)
	if err != nil {
		return err
	}
	var auth []byte
	if f := c.String("owner-auth-file"); f != "" {
		if auth, err = inOwnerAuth.Read(f); err != nil {
			return err
		}
		auth = []byte(strings.TrimRight(string(auth), "\n"))
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		for _, i := range idx {
			_, err := tpm.DefineAnchor(t, i, tpm.WithOwnerAuth(auth))
			switch {
			case err == nil:
				fmt.Fprintf(e.stdout, "%#08x %s: defined and written\n", i, tpm.AnchorName(i))
			case errors.Is(err, tpm.ErrNotStage):
				fmt.Fprintf(e.stdout, "%#08x %s: defined; the next pre-launch stage writes it\n", i, tpm.AnchorName(i))
			default:
				return err
			}
		}
		return nil
	})
}

// parseIndex reads an anchor's NV index flag; "none" is 0.
func parseIndex(c *cli.Context, name string) (uint32, error) {
	v := c.String(name)
	if v == "none" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 0, 32)
	if err == nil {
		_, err = tpm.AnchorAt(uint32(n))
	}
	if err != nil {
		return 0, usage(fmt.Errorf("--%s %q: want an NV index such as %#08x", name, v, tpm.DefaultJournalAnchorIndex))
	}
	return uint32(n), nil
}

// parseCounter reads an update-window counter's NV index flag.
func parseCounter(c *cli.Context, flag string) (uint32, error) {
	n, err := strconv.ParseUint(c.String(flag), 0, 32)
	if err != nil {
		return 0, usage(fmt.Errorf("--%s %q: want an NV index such as %#08x", flag, c.String(flag), tpm.DefaultCounterIndex))
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
