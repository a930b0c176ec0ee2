package main

import (
	"fmt"

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
	return tpm.AnchorIndexArgs(c.Args().Slice())
}

func (e *env) anchorStatus(c *cli.Context) error {
	idx, err := anchorIndices(c)
	if err != nil {
		return err
	}
	return reportTPM(e, c, func(t *tpm.Conn) (tpm.AnchorStates, error) { return tpm.ReadAnchorStates(t, idx) })
}

func (e *env) anchorDefine(c *cli.Context) error {
	idx, err := anchorIndices(c)
	if err != nil {
		return err
	}
	auth, err := tpm.ReadOwnerAuth(c.String("owner-auth-file"))
	if err != nil {
		return err
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

// parseIndex reads an anchor's NV index flag; "none" is 0.
func parseIndex(c *cli.Context, name string) (uint32, error) {
	return tpm.AnchorIndexFlag(name, c.String(name))
}

// parseCounter reads an update-window counter's NV index flag.
func parseCounter(c *cli.Context, flag string) (uint32, error) {
	return tpm.CounterIndexFlag(flag, c.String(flag))
}

// withJournalAnchor runs f with the journal's options for --anchor, read
// on the TPM (update.JournalAnchorFlag: none for --anchor none).
func withJournalAnchor(e *env, c *cli.Context, f func(opts []journal.Option) error) error {
	a := update.JournalAnchorFlag{Index: c.String("anchor"), OpenTPM: func() (*tpm.Conn, error) { return e.openTPM(c) }}
	return a.With(f)
}
