package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

// slkit's anchors by name (tpm.Anchor).
var anchorNames = []struct {
	name  string
	index uint32
}{
	{"journal", tpm.DefaultJournalAnchorIndex},
	{"policy", tpm.DefaultPolicyAnchorIndex},
	{"update-counter", tpm.DefaultCounterIndex},
}

func anchorCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "anchor",
		Usage: "the TPM NV anchors: counters only the pre-launch stage raises and nobody lowers (journal generation, policy version, update window)",
		Subcommands: []*cli.Command{
			{
				Name: "status", Usage: "show each anchor: defined, slkit's, value", ArgsUsage: "[INDEX...]",
				Flags:  []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error { return anchorStatus(e, c) },
			},
			{
				Name: "define", Usage: "define anchors with the owner authorization (a TPM with an owner password); the next pre-launch stage writes them", ArgsUsage: "[INDEX...]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "owner-auth-file", Usage: "the owner authorization (password) in `FILE` (default: empty)"},
				},
				Action: func(c *cli.Context) error { return anchorDefine(e, c) },
			},
		},
	}
}

// anchorIndices are the INDEX arguments, or every anchor of slkit's.
func anchorIndices(c *cli.Context) ([]uint32, error) {
	if c.NArg() == 0 {
		var out []uint32
		for _, a := range anchorNames {
			out = append(out, a.index)
		}
		return out, nil
	}
	var out []uint32
	for _, s := range c.Args().Slice() {
		n, err := strconv.ParseUint(s, 0, 32)
		if err == nil {
			_, err = tpm.AnchorAt(uint32(n))
		}
		if err != nil {
			return nil, usageError{fmt.Errorf("anchor %q: want an NV index such as %#08x", s, tpm.DefaultJournalAnchorIndex)}
		}
		out = append(out, uint32(n))
	}
	return out, nil
}

func anchorName(idx uint32) string {
	for _, a := range anchorNames {
		if a.index == idx {
			return a.name
		}
	}
	return "anchor"
}

type anchorState struct {
	Index uint32  `json:"index"`
	Name  string  `json:"name"`
	Value *uint64 `json:"value,omitempty"`
	// Problem says why there is no value (not defined, never written,
	// not slkit's).
	Problem string `json:"problem,omitempty"`
}

func anchorStatus(e *env, c *cli.Context) error {
	idx, err := anchorIndices(c)
	if err != nil {
		return err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	var out []anchorState
	for _, i := range idx {
		st := anchorState{Index: i, Name: anchorName(i)}
		a, err := tpm.OpenAnchor(t, i)
		if err == nil {
			var v uint64
			if v, err = a.Read(t); err == nil {
				st.Value = &v
			}
		}
		if err != nil {
			if !errors.Is(err, tpm.ErrAnchor) {
				return err
			}
			st.Problem = strings.TrimPrefix(oneLine(err.Error()), tpm.ErrAnchor.Error()+": ")
		}
		out = append(out, st)
	}
	if c.Bool("json") {
		return e.writeJSON(out)
	}
	for _, st := range out {
		if st.Value != nil {
			fmt.Fprintf(e.stdout, "%#08x %-14s %d\n", st.Index, st.Name, *st.Value)
		} else {
			fmt.Fprintf(e.stdout, "%#08x %-14s %s\n", st.Index, st.Name, st.Problem)
		}
	}
	return nil
}

// parseCounter reads an update-window counter's NV index flag.
func parseCounter(c *cli.Context, flag string) (uint32, error) {
	n, err := strconv.ParseUint(c.String(flag), 0, 32)
	if err != nil {
		return 0, usageError{fmt.Errorf("--%s %q: want an NV index such as %#08x", flag, c.String(flag), tpm.DefaultCounterIndex)}
	}
	if _, err := tpm.CounterAt(uint32(n)); err != nil {
		return 0, usageError{fmt.Errorf("--%s: %w", flag, err)}
	}
	return uint32(n), nil
}

// inOwnerAuth is an owner authorisation file: at most a SHA-256-sized
// authValue (Part 1 §19.6.4) and a line end.
var inOwnerAuth = inputKind{what: "owner authorisation file", max: 64 + 2}

func anchorDefine(e *env, c *cli.Context) error {
	idx, err := anchorIndices(c)
	if err != nil {
		return err
	}
	var auth []byte
	if f := c.String("owner-auth-file"); f != "" {
		if auth, err = readInput(f, inOwnerAuth); err != nil {
			return err
		}
		auth = []byte(strings.TrimRight(string(auth), "\n"))
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	for _, i := range idx {
		_, err := tpm.DefineAnchor(t, i, tpm.WithOwnerAuth(auth))
		switch {
		case err == nil:
			fmt.Fprintf(e.stdout, "%#08x %s: defined and written\n", i, anchorName(i))
		case errors.Is(err, tpm.ErrNotStage):
			fmt.Fprintf(e.stdout, "%#08x %s: defined; the next pre-launch stage writes it\n", i, anchorName(i))
		default:
			return err
		}
	}
	return nil
}

// policyConfirm writes the signed policy this OS was launched with to the
// confirmation file the pre-launch stage reads (--policy-confirm): the
// next launch of the same policy raises the TPM's minimum policy_version
// to its version (update.PolicyAnchor).
func policyConfirm(e *env, c *cli.Context) error {
	if err := needFlags(c, "policy", "out"); err != nil {
		return err
	}
	signed, err := readInput(c.String("policy"), inSigned)
	if err != nil {
		return err
	}
	env, err := policy.ParseEnvelope(signed)
	if err != nil {
		return inputError{c.String("policy"), err}
	}
	p, err := policy.Parse(env.Payload)
	if err != nil {
		return inputError{c.String("policy"), err}
	}
	if err := fsys.WriteFile(fsys.OS{}, c.String("out"), signed, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: confirmed policy_version %d for the next launch of this policy\n", c.String("out"), p.PolicyVersion)
	return nil
}

// journalAnchorOpts is the journal's TPM anchor (--anchor) for a command:
// none when --anchor none or when the pre-launch stage has not defined it
// yet.
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
