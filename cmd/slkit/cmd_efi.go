package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/initramfs/pid1"
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
	}
}

// queueFlags are the flags of every `efi queue` change command.
func queueFlags(data bool) []cli.Flag {
	fs := append(journalFlags(),
		&cli.StringFlag{Name: "key", Usage: "Ed25519 private key `FILE` signing the journal: a sealed file of `efi keygen --seal-pcrs` (unsealed on the TPM), or raw or PEM; - reads stdin (required)"},
		&cli.StringSliceFlag{Name: "eventlog", Usage: "event log `FILE`(s) that explain a refused unseal of a sealed --key (e.g. the DRTM log; default: the firmware log, if readable)"},
		&cli.StringFlag{Name: "expect-hex", Usage: "apply only if the variable's current data is `HEX`"},
		&cli.StringFlag{Name: "expect-file", Usage: "apply only if the variable's current data is the content of `FILE`"},
		&cli.BoolFlag{Name: "expect-absent", Usage: "apply only if the variable does not exist"},
		&cli.BoolFlag{Name: "reboot", Usage: "the change takes effect only through a firmware reboot"},
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
				Name: "keygen", Usage: "create the journal signing key pair (PEM PKIX public key; the private key sealed to PCRs with --seal-pcrs, else PEM PKCS#8 0600)",
				Flags: efiKeygenFlags(),
				// The same key files as `slkit policy keygen`, or the private
				// key sealed; the journal's key id is the first 32 hex digits
				// of the one printed.
				Action: func(c *cli.Context) error { return efiKeygen(e, c) },
			},
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
				},
				Action: func(c *cli.Context) error { return efiMount(c, pid1.NewSystem()) },
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
	if d := describeValue(x); d != "" {
		fmt.Fprintln(e.stdout, d)
	}
	return nil
}

// describeValue decodes the globally defined variables slkit knows.
func describeValue(x *efi.Variable) string {
	if x.Name.GUID != efi.GlobalGUID {
		return ""
	}
	switch name := x.Name.Name; {
	case name == "BootOrder" || name == "DriverOrder":
		if o, err := efi.ParseBootOrder(x.Data); err == nil {
			s := make([]string, len(o))
			for i, n := range o {
				s[i] = fmt.Sprintf("%04X", n)
			}
			return "order: " + strings.Join(s, ",")
		}
	case name == "BootNext" || name == "BootCurrent" || name == "Timeout":
		if n, err := efi.ParseUint16(x.Data); err == nil {
			return fmt.Sprintf("value: %04X (%d)", n, n)
		}
	case name == "OsIndications" || name == "OsIndicationsSupported":
		if n, err := efi.ParseUint64(x.Data); err == nil {
			return fmt.Sprintf("bits: %#x %s", n, strings.Join(efi.OsIndicationNames(n), ","))
		}
	case strings.HasPrefix(name, "Boot") && len(name) == 8:
		if lo, err := efi.ParseLoadOption(x.Data); err == nil {
			return fmt.Sprintf("load option: %q attributes %#x, %d bytes of device path, %d bytes of optional data", lo.Description, lo.Attributes, len(lo.FilePath), len(lo.OptionalData))
		}
	}
	return ""
}

func journalPaths(c *cli.Context) (string, string, error) {
	if err := needFlags(c, "journal"); err != nil {
		return "", "", err
	}
	j, s := c.String("journal"), c.String("state")
	if s == "" {
		s = j + ".state"
	}
	return j, s, nil
}

// maxKeyFile bounds a key file: a PEM key is ~120 bytes, a sealed one a
// few KiB.
const maxKeyFile = 64 << 10

// readKeyInput reads a key file (at most maxKeyFile bytes), or stdin for
// "-" (as `slkit unseal` writes it).
func (e *env) readKeyInput(path string) ([]byte, error) {
	if path != "-" {
		return readFileAtMost(path, maxKeyFile)
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, maxKeyFile))
	if err != nil || len(b) == 0 {
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

// changeFromFlags maps the queue flags to a journal.Change.
func changeFromFlags(c *cli.Context, op journal.Op) (journal.Change, error) {
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
	x, err := expectFromFlags(c)
	ch.Expect = x
	return ch, err
}

func dataFromFlags(c *cli.Context) ([]byte, error) {
	var set []string
	for _, f := range []string{"hex", "file", "u16", "boot-order"} {
		if c.IsSet(f) {
			set = append(set, "--"+f)
		}
	}
	if len(set) != 1 {
		return nil, usageError{fmt.Errorf("%s: give exactly one of --hex, --file, --u16, --boot-order (got %d)", c.Command.FullName(), len(set))}
	}
	switch {
	case c.IsSet("hex"):
		b, err := hex.DecodeString(c.String("hex"))
		if err != nil {
			return nil, usageError{fmt.Errorf("--hex: %v", err)}
		}
		return b, nil
	case c.IsSet("file"):
		return readInput(c.String("file"))
	case c.IsSet("u16"):
		n, err := strconv.ParseUint(c.String("u16"), 0, 16)
		if err != nil {
			return nil, usageError{fmt.Errorf("--u16: %v", err)}
		}
		return []byte{byte(n), byte(n >> 8)}, nil
	}
	var order []uint16
	for _, f := range strings.Split(c.String("boot-order"), ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 16, 16)
		if err != nil {
			return nil, usageError{fmt.Errorf("--boot-order: %q is not a hex option number", f)}
		}
		order = append(order, uint16(n))
	}
	return efi.MarshalBootOrder(order), nil
}

func expectFromFlags(c *cli.Context) (journal.Expect, error) {
	n := 0
	for _, f := range []string{"expect-hex", "expect-file", "expect-absent"} {
		if c.IsSet(f) {
			n++
		}
	}
	switch {
	case n > 1:
		return journal.Expect{}, usageError{errors.New("give at most one of --expect-hex, --expect-file, --expect-absent")}
	case c.Bool("expect-absent"):
		return journal.Expect{Kind: journal.ExpectAbsent}, nil
	case c.IsSet("expect-hex"):
		b, err := hex.DecodeString(c.String("expect-hex"))
		if err != nil {
			return journal.Expect{}, usageError{fmt.Errorf("--expect-hex: %v", err)}
		}
		return journal.ExpectData(b), nil
	case c.IsSet("expect-file"):
		b, err := os.ReadFile(c.String("expect-file"))
		if err != nil {
			return journal.Expect{}, inputError{c.String("expect-file"), err}
		}
		return journal.ExpectData(b), nil
	}
	return journal.Expect{}, nil
}

func efiQueue(e *env, c *cli.Context, op journal.Op) error {
	if err := needFlags(c, "key"); err != nil {
		return err
	}
	jp, sp, err := journalPaths(c)
	if err != nil {
		return err
	}
	ch, err := changeFromFlags(c, op)
	if err != nil {
		return err
	}
	key, err := journalSigningKey(e, c)
	if err != nil {
		return err
	}
	j, err := journal.Enqueue(jp, sp, key, []journal.Change{ch})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "queued %s %s: %s generation %d, %d entries\n", op, ch.Var, jp, j.Generation, len(j.Entries))
	return nil
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
	l, err := journal.Inspect(jp, sp, pub)
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
	sig := "signature not checked (give --pub)"
	if l.Verified {
		sig = "signature verified"
	}
	progress := "commit not started"
	if l.Committed {
		progress = "commit state " + sp
	}
	fmt.Fprintf(e.stdout, "%s: generation %d, %d entries, key %s, %s, %s\n", jp, l.Journal.Generation, len(l.Journal.Entries), hex.EncodeToString(l.Journal.KeyID[:]), sig, progress)
	if verify {
		return nil
	}
	for _, x := range l.Entries() {
		line := fmt.Sprintf("%3d %-13s %-10s %s", x.Seq, x.Op, x.Status, x.Var)
		if x.Data != "" {
			line += fmt.Sprintf(" %s %d bytes", x.Attr, len(x.Data)/2)
		}
		if x.SetBits != nil {
			line += " set " + strings.Join(x.SetBits, ",")
		}
		if x.ClearBits != nil {
			line += " clear " + strings.Join(x.ClearBits, ",")
		}
		if x.Expect != "" {
			line += " if " + x.Expect
		}
		if x.Reason != "" || x.Errno != "" {
			line += " (" + strings.Trim(x.Reason+" "+x.Errno, " ") + ")"
		}
		fmt.Fprintln(e.stdout, line)
	}
	return nil
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
	res, err := journal.Commit(context.Background(), v, jp, sp, pub,
		journal.WithAllowed(allow...), journal.WithTries(uint8(c.Uint("tries"))), journal.WithMinGeneration(c.Uint64("min-generation")))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if err := e.writeJSON(res); err != nil {
			return err
		}
		return res.Err()
	}
	if !res.Journal {
		fmt.Fprintf(e.stdout, "%s: nothing queued\n", jp)
		return nil
	}
	for i := range res.Entries {
		fmt.Fprintln(e.stdout, res.Entries[i].String())
	}
	switch {
	case res.RebootRequired:
		fmt.Fprintln(e.stdout, "firmware reboot required for the changes to take effect")
	case res.RetryAfterReboot:
		fmt.Fprintln(e.stdout, "variable store full: the rest is retried after the next reboot")
	}
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
func efiMount(c *cli.Context, sys pid1.System) error {
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
	return pid1.MountDisk(sys, pid1.Disk{Device: c.String("device"), Dir: c.String("dir"), FSType: c.String("fstype"), Wait: c.Duration("wait")})
}
