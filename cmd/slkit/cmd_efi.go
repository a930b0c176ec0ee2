package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/internal/clikit"
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

// journalFlags name the journal, its state file and its TPM anchor.
func journalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "journal", Required: true, EnvVars: []string{"SLKIT_EFI_JOURNAL"}, Usage: "journal `FILE` (required)"},
		&cli.StringFlag{Name: "state", EnvVars: []string{"SLKIT_EFI_STATE"}, Usage: "state `FILE` (default: the journal's name + .state)"},
		&cli.StringFlag{Name: "anchor", Value: fmt.Sprintf("%#08x", tpm.DefaultJournalAnchorIndex),
			Usage: "the TPM NV anchor `INDEX` holding the applied generation (read when defined; none: the state file alone)"},
	}
}

func newEFICommand(e *env, open varsOpener) *cli.Command {
	queue := func(op journal.Op, usage string, flags ...cli.Flag) *cli.Command {
		c := clikit.Cmd(op.String(), usage, func(c *cli.Context) error { return e.efiQueue(c, op, open) }, flags...)
		if op != journal.OpOsIndications {
			c.ArgsUsage = "NAME-GUID"
		}
		return c
	}
	withOpen := func(f func(*cli.Context, varsOpener) error) cli.ActionFunc {
		return func(c *cli.Context) error { return f(c, open) }
	}
	return clikit.Group("efi", "EFI variables and the deferred-commit journal (queue after launch, commit before the next)",
		clikit.Group("vars", "read EFI variables",
			clikit.Cmd("list", "list variables with attributes and sizes", clikit.NoArgs(withOpen(e.efiVarsList)), efivarsFlag, jsonFlag),
			clikit.ArgsCmd("get", "NAME-GUID", "show a variable's attributes and value", withOpen(e.efiVarsGet), efivarsFlag, jsonFlag),
		),
		// The same key files as `slkit policy keygen`, or the private key
		// sealed; the journal's key id is the first 32 hex digits of the
		// one printed.
		clikit.Cmd("keygen", "create the journal signing key pair (PEM PKIX public key; the private key sealed to PCRs with --seal-pcrs, else PEM PKCS#8 0600); with --secure-boot, a PK/KEK/db key set and its enrolment in directory --out",
			e.efiKeygen, append(keygenFlags(),
				&cli.StringFlag{Name: "seal-pcrs", Usage: "seal the private key to these PCRs (e.g. 17,18: the dynamic launch) instead of writing it in clear; --out is then a sealed file"},
				&cli.StringFlag{Name: "pcr-values", Usage: "with --seal-pcrs: seal to these values (JSON of `slkit predict --drtm emulated --json`) instead of the current ones"},
				&cli.StringFlag{Name: "bank", Value: "sha256", Usage: "with --seal-pcrs: the PCR bank of the policy"},
				&cli.BoolFlag{Name: "secure-boot", Usage: "make Secure Boot PK, KEK and db keys and the signed writes that enrol them (`efi enroll`) in the directory --out (build host only)"},
				&cli.StringSliceFlag{Name: "db-cert", Usage: "with --secure-boot: also enrol this certificate `FILE` (PEM or DER) in db, e.g. the one the kernel is signed with: a Secure Boot kernel in lockdown kexecs only kernels it verifies with db (repeatable)"})...),
		clikit.Described("The platform must be in setup mode (no PK). Nothing is written when it is not, or when a file\n"+
			"is not an authenticated signature-list write. The firmware leaves setup mode with the PK write and\n"+
			"turns Secure Boot on at the next boot. No private key is needed here.",
			clikit.Cmd("enroll", "enrol a Secure Boot key set in setup mode: write DIR/db.auth, DIR/KEK.auth, DIR/PK.auth (signed on the build host by `efi keygen --secure-boot`), in that order",
				clikit.NoArgs(withOpen(e.efiEnroll)),
				&cli.StringFlag{Name: "dir", Required: true, Usage: "directory `DIR` holding db.auth, KEK.auth and PK.auth (required)"}, efivarsFlag)),
		clikit.Group("queue", "queue variable changes in the signed journal (no EFI call is made)",
			queue(journal.OpSet, "set a variable (set-if-different)", queueFlags(true)...),
			queue(journal.OpAppend, "append to a variable", queueFlags(true)...),
			queue(journal.OpDelete, "delete a variable (absent counts as done)", queueFlags(false)...),
			queue(journal.OpOsIndications, "set and clear OsIndications bits (boot-to-fw-ui, file-capsule-delivery, ... or numbers)", append(queueFlags(false),
				&cli.StringFlag{Name: "set", Usage: "bits to set, comma separated"},
				&cli.StringFlag{Name: "clear", Usage: "bits to clear, comma separated"})...),
			clikit.Cmd("list", "show the queued entries and their commit status", clikit.NoArgs(func(c *cli.Context) error { return e.efiQueueList(c, false) }),
				append(journalFlags(), &cli.StringFlag{Name: "pub", Usage: "verify the signature with this public key `FILE`"}, jsonFlag)...),
			clikit.Cmd("verify", "check the journal's signature and structure (exit 3 if it does not verify)", clikit.NoArgs(func(c *cli.Context) error { return e.efiQueueList(c, true) }),
				append(journalFlags(), &cli.StringFlag{Name: "pub", Required: true, Usage: "public key `FILE` (required)"}, jsonFlag)...),
		),
		clikit.Cmd("mount", "mount the disk the journal lives on (an image step before launch, or in the launched OS): nosuid,nodev,noexec", clikit.NoArgs(e.efiMount),
			&cli.StringFlag{Name: "device", Required: true, Usage: "block device `DEV`, e.g. /dev/nvme0n1 (required)"},
			&cli.StringFlag{Name: "dir", Required: true, Usage: "mount point `DIR`, created when missing (required)"},
			&cli.StringFlag{Name: "fstype", Value: "ext4", Usage: "file system `TYPE`"},
			&cli.DurationFlag{Name: "wait", Value: 10 * time.Second, Usage: "wait this long for the device to appear"},
			&cli.BoolFlag{Name: "json", Usage: "print {\"device\",\"dir\",\"fstype\",\"options\"}"}),
		clikit.Cmd("commit", "apply the journal to the variables (pre-launch); reports whether a firmware reboot is needed", clikit.NoArgs(withOpen(e.efiCommit)),
			append(journalFlags(), efivarsFlag,
				&cli.StringFlag{Name: "pub", Required: true, Usage: "public key `FILE` the journal must be signed with (required)"},
				&cli.StringSliceFlag{Name: "allow", Usage: "also allow `NAME-GUID` (PREFIX*-GUID, *-GUID) beyond the kernel's list (repeatable)"},
				&cli.UintFlag{Name: "tries", Value: journal.DefaultTries, Usage: "attempts per entry across boots (1-255)"},
				&cli.Uint64Flag{Name: "min-generation", Usage: "refuse journals older than this generation"},
				jsonFlag)...),
	)
}

func (e *env) efiVarsList(c *cli.Context, open varsOpener) error {
	v, err := open(c)
	if err != nil {
		return err
	}
	vs, err := v.List()
	if err != nil {
		return err
	}
	return e.report(c, vs, efi.ListText(vs))
}

// parseVarArg is the one NAME-GUID argument.
func parseVarArg(c *cli.Context) (efi.Name, error) {
	if err := clikit.NeedArgs(c, 1, 1, "one NAME-GUID"); err != nil {
		return efi.Name{}, err
	}
	n, err := efi.ParseName(c.Args().First())
	if err != nil {
		return efi.Name{}, usage(err)
	}
	return n, nil
}

func (e *env) efiVarsGet(c *cli.Context, open varsOpener) error {
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
	return e.report(c, x, x.Text())
}

func (e *env) efiEnroll(c *cli.Context, open varsOpener) error {
	writes, err := efi.ReadEnrollment(c.String("dir"))
	if err != nil {
		return err
	}
	v, err := open(c, efi.WithMutable(efi.EnrollPatterns...))
	if err != nil {
		return err
	}
	if err := v.EnrollSecureBoot(writes); err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, "enrolled db, KEK and PK: the firmware left setup mode; Secure Boot is on from the next boot")
	return err
}

func (e *env) efiCommit(c *cli.Context, open varsOpener) error {
	jp, sp, err := journalPaths(c)
	if err != nil {
		return err
	}
	pub, err := loadJournalKey(e, c.String("pub"), journal.ParsePublicKey)
	if err != nil {
		return err
	}
	tries, err := journal.ParseTries(c.Uint("tries"))
	if err != nil {
		return usage(fmt.Errorf("--tries %d: %w", c.Uint("tries"), err))
	}
	allow, err := parseAllow(c, "allow")
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
			journal.WithAllowed(allow...), journal.WithTries(tries), journal.WithMinGeneration(c.Uint64("min-generation")))...)
		return err
	})
	if err != nil {
		return err
	}
	if res.AnchorErr != nil && !c.Bool("json") {
		fmt.Fprintf(e.stderr, "slkit: warning: the journal's anchor is not advanced: %s\n", clikit.OneLine(res.AnchorErr.Error()))
	}
	return e.verdict(c, res, res.Text(jp), res.Err())
}

// parseAllow parses the variable patterns of flag (--allow, --efi-allow).
func parseAllow(c *cli.Context, flag string) ([]efi.Pattern, error) {
	allow, err := efi.ParsePatterns(c.StringSlice(flag))
	if err != nil {
		return nil, usage(fmt.Errorf("--%s: %w", flag, err))
	}
	return allow, nil
}

// efiMount mounts the journal's disk (pid1.MountDisk; a mounted DIR is
// left as it is).
func (e *env) efiMount(c *cli.Context) error {
	for _, f := range []string{"device", "dir"} {
		if p := c.String(f); !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return usage(fmt.Errorf("efi mount: --%s %q: want an absolute, clean path (not /)", f, p))
		}
	}
	d := pid1.Disk{Device: c.String("device"), Dir: c.String("dir"), FSType: c.String("fstype"), Wait: c.Duration("wait")}
	if err := pid1.MountDisk(e.system(), d); err != nil {
		return err
	}
	r := d.Report()
	return e.report(c, r, r.Text())
}
