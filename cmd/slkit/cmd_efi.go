package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// varsOpener opens the variable layer for a command (tests substitute the
// efitest fake).
type varsOpener func(c *cli.Context, opts ...efi.Option) (*efi.Vars, error)

func efiCommand(e *env) *cli.Command {
	return newEFICommand(e, func(c *cli.Context, opts ...efi.Option) (*efi.Vars, error) {
		return efi.OpenDir(c.String("efivars"), opts...)
	})
}

var efivarsFlag = &cli.StringFlag{Name: "efivars", Value: efi.DefaultDir, EnvVars: []string{"SLKIT_EFIVARS"},
	Usage: "efivarfs mount `DIR`"}

func journalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "journal", EnvVars: []string{"SLKIT_EFI_JOURNAL"}, Usage: "journal `FILE` (required)"},
		&cli.StringFlag{Name: "state", EnvVars: []string{"SLKIT_EFI_STATE"}, Usage: "state `FILE` (default: the journal's name + .state)"},
		&cli.StringFlag{Name: "anchor", Value: fmt.Sprintf("%#08x", tpm.DefaultJournalAnchorIndex),
			Usage: "the TPM NV anchor `INDEX` holding the applied generation (read when defined; none: the state file alone)"},
	}
}

func newEFICommand(e *env, open varsOpener) *cli.Command {
	queue := func(op journal.Op) cli.ActionFunc {
		return func(c *cli.Context) error { return efiQueue(e, c, op) }
	}
	return &cli.Command{
		Name:  "efi",
		Usage: "EFI variables and the deferred-commit journal (queue after launch, commit before the next)",
		Subcommands: []*cli.Command{
			{
				Name: "vars", Usage: "read EFI variables",
				Subcommands: []*cli.Command{
					{Name: "list", Usage: "list variables with attributes and sizes", Flags: []cli.Flag{efivarsFlag, jsonFlag},
						Action: func(c *cli.Context) error { return efiVarsList(e, c, open) }},
					{Name: "get", Usage: "show a variable's attributes and value", ArgsUsage: "NAME-GUID", Flags: []cli.Flag{efivarsFlag, jsonFlag},
						Action: func(c *cli.Context) error { return efiVarsGet(e, c, open) }},
				},
			},
			{
				Name: "keygen", Usage: "create the journal signing key pair (PEM PKIX public key; the private key sealed to PCRs with --seal-pcrs, else PEM PKCS#8 0600); with --secure-boot, a PK/KEK/db key set and its enrolment in directory --out",
				Flags: append(efiKeygenFlags(), &cli.BoolFlag{Name: "secure-boot", Usage: "make Secure Boot PK, KEK and db keys and the signed writes that enrol them (`efi enroll`) in the directory --out (build host only)"},
					&cli.StringSliceFlag{Name: "db-cert", Usage: "with --secure-boot: also enrol this certificate `FILE` (PEM or DER) in db, e.g. the one the kernel is signed with: a Secure Boot kernel in lockdown kexecs only kernels it verifies with db (repeatable)"}),
				// The same key files as `slkit policy keygen`, or the private
				// key sealed; the journal's key id is the first 32 hex digits
				// of the one printed.
				Action: func(c *cli.Context) error {
					if c.Bool("secure-boot") {
						return secureBootKeygen(e, c)
					}
					return efiKeygen(e, c)
				},
			},
			efiEnrollCommand(e, open),
			{
				Name: "queue", Usage: "queue variable changes in the signed journal (no EFI call is made)",
				Subcommands: []*cli.Command{
					{Name: "set", Usage: "set a variable (set-if-different)", ArgsUsage: "NAME-GUID", Flags: queueFlags(true), Action: queue(journal.OpSet)},
					{Name: "append", Usage: "append to a variable", ArgsUsage: "NAME-GUID", Flags: queueFlags(true), Action: queue(journal.OpAppend)},
					{Name: "delete", Usage: "delete a variable (absent counts as done)", ArgsUsage: "NAME-GUID", Flags: queueFlags(false), Action: queue(journal.OpDelete)},
					{Name: "osindications", Usage: "set and clear OsIndications bits (boot-to-fw-ui, file-capsule-delivery, ... or numbers)",
						Flags: append(queueFlags(false),
							&cli.StringFlag{Name: "set", Usage: "bits to set, comma separated"},
							&cli.StringFlag{Name: "clear", Usage: "bits to clear, comma separated"}),
						Action: queue(journal.OpOsIndications)},
					{Name: "list", Usage: "show the queued entries and their commit status",
						Flags:  append(journalFlags(), &cli.StringFlag{Name: "pub", Usage: "verify the signature with this public key `FILE`"}, jsonFlag),
						Action: func(c *cli.Context) error { return efiQueueList(e, c, false) }},
					{Name: "verify", Usage: "check the journal's signature and structure (exit 3 if it does not verify)",
						Flags:  append(journalFlags(), &cli.StringFlag{Name: "pub", Usage: "public key `FILE` (required)"}, jsonFlag),
						Action: func(c *cli.Context) error { return efiQueueList(e, c, true) }},
				},
			},
			{
				Name: "mount", Usage: "mount the disk the journal lives on (an image step before launch, or in the launched OS): nosuid,nodev,noexec",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "device", Usage: "block device `DEV`, e.g. /dev/nvme0n1 (required)"},
					&cli.StringFlag{Name: "dir", Usage: "mount point `DIR`, created when missing (required)"},
					&cli.StringFlag{Name: "fstype", Value: "ext4", Usage: "file system `TYPE`"},
					&cli.DurationFlag{Name: "wait", Value: 10 * time.Second, Usage: "wait this long for the device to appear"},
					&cli.BoolFlag{Name: "json", Usage: "print {\"device\",\"dir\",\"fstype\",\"options\"}"},
				},
				Action: func(c *cli.Context) error { return efiMount(e, c) },
			},
			{
				Name: "commit", Usage: "apply the journal to the variables (pre-launch); reports whether a firmware reboot is needed",
				Flags: append(journalFlags(), efivarsFlag,
					&cli.StringFlag{Name: "pub", Usage: "public key `FILE` the journal must be signed with (required)"},
					&cli.StringSliceFlag{Name: "allow", Usage: "also allow `NAME-GUID` (PREFIX*-GUID, *-GUID) beyond the kernel's list (repeatable)"},
					&cli.UintFlag{Name: "tries", Value: journal.DefaultTries, Usage: "attempts per entry across boots (1-255)"},
					&cli.Uint64Flag{Name: "min-generation", Usage: "refuse journals older than this generation"},
					jsonFlag),
				Action: func(c *cli.Context) error { return efiCommit(e, c, open) },
			},
		},
	}
}

func efiVarsList(e *env, c *cli.Context, open varsOpener) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	v, err := open(c)
	if err != nil {
		return err
	}
	vs, err := v.List()
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.writeJSON(vs)
	}
	for _, x := range vs {
		fmt.Fprintf(e.stdout, "%-60s %-12s %6d\n", x.Name, x.Attr, len(x.Data))
	}
	return nil
}

func parseVarArg(c *cli.Context) (efi.Name, error) {
	if err := needArgs(c, 1, 1, "one NAME-GUID"); err != nil {
		return efi.Name{}, err
	}
	n, err := efi.ParseName(c.Args().First())
	if err != nil {
		return efi.Name{}, usageError{err}
	}
	return n, nil
}

func efiVarsGet(e *env, c *cli.Context, open varsOpener) error {
	n, err := parseVarArg(c)
	if err != nil {
		return err
	}
	v, err := open(c)
	if err != nil {
		return err
	}
	x, err := v.Get(n)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.writeJSON(x)
	}
	fmt.Fprintf(e.stdout, "%s\nattributes: %s (%#08x)\nsize: %d\ndata: %s\n", x.Name, x.Attr, uint32(x.Attr), len(x.Data), hex.EncodeToString(x.Data))
	if d := efi.Describe(x); d != "" {
		fmt.Fprintln(e.stdout, d)
	}
	return nil
}

func journalPaths(c *cli.Context) (string, string, error) {
	if err := needFlags(c, "journal"); err != nil {
		return "", "", err
	}
	j := c.String("journal")
	s := journal.StatePath(j, c.String("state"))
	return j, s, checkJournalFiles(j, s)
}

// checkJournalFiles refuses, before any TPM command, a journal or state
// file that is not a regular file within its limit (a missing one is
// fine: nothing queued, or nothing committed yet).
func checkJournalFiles(j, s string) error {
	if err := checkInput(j, inJournal, true); err != nil {
		return err
	}
	return checkInput(s, inState, true)
}

// inJournalKey is a journal key file: PEM or raw, or a sealed private key
// (`efi keygen --seal-pcrs`: a sealed file with its expected events).
var inJournalKey = inputKind{what: "journal key file", max: 64 << 10}

// readKeyInput reads a key file (inJournalKey), or stdin for
// "-" (as `slkit unseal` writes it).
func (e *env) readKeyInput(path string) ([]byte, error) {
	if path != "-" {
		return readInput(path, inJournalKey)
	}
	b, err := fsys.ReadLimited(e.stdin, "stdin", inJournalKey.max)
	if err != nil {
		return nil, inputError{"stdin", inJournalKey.problem(err)}
	}
	if len(b) == 0 {
		return nil, inputError{"stdin", errors.New("no key on standard input")}
	}
	return b, nil
}

func loadJournalKey[K any](e *env, path string, parse func([]byte) (K, error)) (K, error) {
	var zero K
	b, err := e.readKeyInput(path)
	if err != nil {
		return zero, err
	}
	return parseJournalKey(path, b, parse)
}

// parseJournalKey parses the key file read from path ("-": stdin); an
// error names it.
func parseJournalKey[K any](path string, b []byte, parse func([]byte) (K, error)) (K, error) {
	var zero K
	k, err := parse(b)
	if err != nil {
		name := path
		if path == "-" {
			name = "stdin"
		}
		return zero, inputError{name, err}
	}
	return k, nil
}

func efiCommit(e *env, c *cli.Context, open varsOpener) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	if err := needFlags(c, "pub"); err != nil {
		return err
	}
	jp, sp, err := journalPaths(c)
	if err != nil {
		return err
	}
	pub, err := loadJournalKey(e, c.String("pub"), journal.ParsePublicKey)
	if err != nil {
		return err
	}
	if t := c.Uint("tries"); t < 1 || t > 255 {
		return usageError{fmt.Errorf("--tries %d: want 1 to 255", t)}
	}
	allow, err := parseAllow(c.StringSlice("allow"), "--allow")
	if err != nil {
		return err
	}
	v, err := open(c, efi.WithMutable(allow...))
	if err != nil {
		return err
	}
	var res *journal.Result
	err = withJournalAnchor(e, c, func(opts []journal.Option) error {
		res, err = journal.Commit(context.Background(), v, jp, sp, pub, append(opts,
			journal.WithAllowed(allow...), journal.WithTries(uint8(c.Uint("tries"))), journal.WithMinGeneration(c.Uint64("min-generation")))...)
		return err
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if err := e.writeJSON(res); err != nil {
			return err
		}
		return res.Err()
	}
	if res.AnchorErr != nil {
		fmt.Fprintf(e.stderr, "slkit: warning: the journal's anchor is not advanced: %s\n", oneLine(res.AnchorErr.Error()))
	}
	fmt.Fprint(e.stdout, res.Text(jp))
	return res.Err()
}

// parseAllow parses --allow (or --efi-allow) patterns.
func parseAllow(args []string, flag string) ([]efi.Pattern, error) {
	var allow []efi.Pattern
	for _, s := range args {
		p, err := efi.ParsePattern(s)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s: %w", flag, err)}
		}
		allow = append(allow, p)
	}
	return allow, nil
}

// efiMount mounts the journal's disk (pid1.MountDisk; a mounted DIR is
// left as it is).
func efiMount(e *env, c *cli.Context) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	if err := needFlags(c, "device", "dir"); err != nil {
		return err
	}
	for _, f := range []string{"device", "dir"} {
		if p := c.String(f); !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return usageError{fmt.Errorf("efi mount: --%s %q: want an absolute, clean path (not /)", f, p)}
		}
	}
	d := pid1.Disk{Device: c.String("device"), Dir: c.String("dir"), FSType: c.String("fstype"), Wait: c.Duration("wait")}
	if err := pid1.MountDisk(e.system(), d); err != nil {
		return err
	}
	return e.report(c, map[string]string{"device": d.Device, "dir": d.Dir, "fstype": d.FSType, "options": pid1.DiskOptions},
		fmt.Sprintf("%s mounted on %s (%s, %s)\n", d.Device, d.Dir, d.FSType, pid1.DiskOptions))
}
