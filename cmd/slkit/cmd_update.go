package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

func updateCommand(e *env) *cli.Command {
	sealedFlag := &cli.StringSliceFlag{Name: "sealed", Usage: "sealed `FILE` of a secret to carry across the update, replaced atomically (repeatable; required)"}
	return &cli.Command{
		Name:  "update",
		Usage: "carry sealed secrets across a firmware-variable update: prepare (launched OS) and finish (after the post-update launch)",
		Description: "Queue the changes with `slkit efi queue`, then `slkit update prepare`; the pre-launch\n" +
			"environment commits them (`slkit launch --efi-journal ... --update-counter ...`), rebooting\n" +
			"through the firmware when a change needs it; after the post-update launch run\n" +
			"`slkit update finish`. See efi/README.md, \"Sealing across an update\".",
		Subcommands: []*cli.Command{
			{
				Name:  "prepare",
				Usage: "check the queued journal and seal each secret a second time for the next launch (an update window for firmware PCRs)",
				Flags: append(append(journalFlags(), sealedFlag,
					&cli.StringFlag{Name: "pub", Usage: "verify the journal's signature with this public key `FILE` (recommended: the pre-launch environment refuses a journal that does not verify)"},
					&cli.StringFlag{Name: "via", Value: string(update.ViaReboot), Usage: "how the next launch is reached: reboot (firmware PCRs 0-7 are measured anew) or kexec (back into the pre-launch environment)"},
					&cli.StringFlag{Name: "next-policy", Usage: "predict the next launch: signed launch policy `FILE` of the pre-launch environment (e.g. handed over with `launch --handover`)"},
					&cli.StringFlag{Name: "next-entry", Usage: "the next launch's policy entry `NAME` (default: the first)"},
					&cli.StringFlag{Name: "relaunch-policy", Usage: "--via kexec: the signed policy `FILE` this OS relaunches the pre-launch environment with (`slkit launch --policy FILE`)"},
					&cli.StringFlag{Name: "relaunch-entry", Usage: "--via kexec: its entry `NAME` (default: the first)"},
					&cli.StringFlag{Name: "next-root", Usage: "read the next launch's kernel and initrd at the policy's paths under `DIR` (needed for a file sealed in a bank other than sha256: a policy pins its images by sha256 only)"},
					&cli.StringFlag{Name: "relaunch-root", Usage: "--via kexec: the same for the relaunch's images (`DIR`, as `slkit launch --root` reads them)"},
					&cli.StringFlag{Name: "policy-key", Usage: "public key `FILE` the launch policies verify under (required with --next-policy or --relaunch-policy)"},
					&cli.StringFlag{Name: "start", Usage: "--via reboot: PCR values before the next boot's launch, JSON as `slkit pcr read --json` prints (default: the firmware event log's, replayed: what the firmware and the EFI stub measure before the pre-launch stage)"},
					&cli.StringFlag{Name: "next-pcrs", Usage: "seal to these predicted values instead (JSON of `slkit predict --json`)"},
					&cli.StringFlag{Name: "counter", Value: fmt.Sprintf("%#08x", tpm.DefaultCounterIndex), Usage: "update-window NV counter `INDEX` (the pre-launch environment's `slkit launch --update-counter` defines it)"},
					&cli.IntFlag{Name: "launches", Value: 1, Usage: "the window lasts this many launches (1-16)"},
					jsonFlag), append(pinFlags, bootPredictFlags()...)...),
				Action: func(c *cli.Context) error { return updatePrepare(e, c) },
			},
			{
				Name:  "finish",
				Usage: "after the post-update launch: reseal each secret to the current PCR values (the next launch closes the update window)",
				Flags: append([]cli.Flag{sealedFlag,
					&cli.StringSliceFlag{Name: "eventlog", Usage: "current event log(s) whose events are recorded to explain later refusals (default: the firmware log, if readable)"},
					&cli.BoolFlag{Name: "force", Usage: "reseal although the update object does not unseal yet (abandons a prepared update)"},
					jsonFlag}, pinFlags...),
				Action: func(c *cli.Context) error { return updateFinish(e, c) },
			},
			{
				Name:  "status",
				Usage: "tell which object of each sealed file unseals now, and the update window's state (the secret is not printed)",
				Flags: append([]cli.Flag{sealedFlag,
					&cli.StringSliceFlag{Name: "eventlog", Usage: "current event log(s) to explain a refusal (default: the firmware log, if readable)"},
					jsonFlag}, pinFlags...),
				Action: func(c *cli.Context) error { return updateStatus(e, c) },
			},
		},
	}
}

// sealedFiles reads every --sealed file; when the command rewrites them
// (replace), each must also be a path the atomic writer can replace.
func sealedFiles(c *cli.Context, replace bool) ([]string, []*tpm.Sealed, error) {
	names := c.StringSlice("sealed")
	if len(names) == 0 {
		return nil, nil, usageError{fmt.Errorf("%s: --sealed is required", c.Command.FullName())}
	}
	var out []*tpm.Sealed
	for _, n := range names {
		if replace {
			if err := checkOutput(n); err != nil {
				return nil, nil, err
			}
		}
		s, err := readSealed(n)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, s)
	}
	return names, out, nil
}

// saveSealed replaces a sealed file atomically (mode 0600).
func saveSealed(name string) func(*tpm.Sealed) error {
	return func(s *tpm.Sealed) error { return tpm.WriteSealed(fsys.OS{}, name, s) }
}

// updatePIN reads the PIN when a file requires one (one PIN for all); a
// PIN given when no file requires one is refused.
func updatePIN(e *env, c *cli.Context, files []*tpm.Sealed) ([]byte, error) {
	given := c.Bool("pin") || c.String("pin-file") != ""
	need := false
	for _, s := range files {
		need = need || s.Policy.PIN
	}
	switch {
	case need && !given:
		return nil, usageError{errors.New("a sealed file requires a PIN: give --pin or --pin-file")}
	case !need && given:
		return nil, usageError{errors.New("no sealed file requires a PIN: leave out --pin and --pin-file")}
	case !need:
		return nil, nil
	}
	return readPIN(e, c, false)
}

// nextLaunch turns the prediction flags into Prepare's options, and says
// where the next launch's values come from (no options: the current ones).
// fwStart is the predicted firmware's PCR 8/9 before the launch (nil:
// the firmware's event log of this boot, replayed).
func nextLaunch(c *cli.Context, via update.Via, fwStart *tpm.PCRs) ([]update.Option, string, error) {
	if c.IsSet("next-pcrs") {
		for _, f := range []string{"next-policy", "relaunch-policy", "start", "next-root", "relaunch-root"} {
			if c.IsSet(f) {
				return nil, "", usageError{fmt.Errorf("update prepare: --next-pcrs and --%s exclude each other", f)}
			}
		}
		x, err := readExpected(c.String("next-pcrs"))
		if err != nil {
			return nil, "", err
		}
		return []update.Option{update.WithNext(x)}, "the values in " + c.String("next-pcrs"), nil
	}
	if c.IsSet("relaunch-policy") && via != update.ViaKexec {
		return nil, "", usageError{errors.New("update prepare: --relaunch-policy is for --via kexec")}
	}
	if c.IsSet("start") && via != update.ViaReboot {
		return nil, "", usageError{errors.New("update prepare: --start is for --via reboot (a kexec starts from the current values)")}
	}
	var launches []update.Launch
	var what []string
	for _, kind := range []string{"relaunch", "next"} {
		pflag, eflag, rflag := kind+"-policy", kind+"-entry", kind+"-root"
		if !c.IsSet(pflag) {
			for _, f := range []string{eflag, rflag} {
				if c.IsSet(f) {
					return nil, "", usageError{fmt.Errorf("update prepare: --%s needs --%s", f, pflag)}
				}
			}
			continue
		}
		if err := needFlags(c, "policy-key"); err != nil {
			return nil, "", err
		}
		signed, err := readInput(c.String(pflag), inSigned)
		if err != nil {
			return nil, "", err
		}
		pub, err := loadKey(c.String("policy-key"), policy.ParsePublicKey)
		if err != nil {
			return nil, "", err
		}
		ln := update.Launch{Signed: signed, Pub: pub, Entry: c.String(eflag), Name: "--" + pflag + " " + c.String(pflag)}
		if c.IsSet(rflag) {
			ln.Images = os.DirFS(c.String(rflag))
		}
		launches = append(launches, ln)
		what = append(what, fmt.Sprintf("%s entry %q", c.String(pflag), c.String(eflag)))
	}
	if len(launches) == 0 {
		return nil, "", nil
	}
	opts := []update.Option{update.WithNextLaunches(launches...)}
	from := "reset values"
	switch {
	case via == update.ViaKexec:
		from = "the current PCR values"
	case c.IsSet("start"):
		x, err := readExpected(c.String("start"))
		if err != nil {
			return nil, "", err
		}
		opts, from = append(opts, update.WithStart(&x.PCRs)), c.String("start")
	case fwStart != nil:
		opts, from = append(opts, update.WithStart(fwStart)), "the predicted firmware values (PCR 9: the EFI stub's measurements)"
	default:
		// What the firmware and the EFI stub measure before the pre-launch
		// stage runs is in the firmware's log; the next boot measures the
		// same into PCRs 8 and 9 (the queued changes go to others).
		logs, _, err := currentLogs(nil)
		if err != nil {
			return nil, "", err
		}
		if len(logs) == 1 {
			start, err := update.FirmwareStart(logs[0])
			if err != nil {
				return nil, "", inputError{firmwareEventLog, err}
			}
			opts, from = append(opts, update.WithStart(start)), "the firmware event log"
		}
	}
	return opts, "predicted for " + strings.Join(what, " then ") + " from " + from, nil
}

// prepareReport is `update prepare --json`.
type prepareReport struct {
	Journal  *update.Pending `json:"journal"`
	Firmware *firmwareReport `json:"firmware,omitempty"`
	Files    []preparedFile  `json:"files"`
}

type preparedFile struct {
	File string `json:"file"`
	*update.Plan
}

func updatePrepare(e *env, c *cli.Context) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	jp, sp, err := journalPaths(c)
	if err != nil {
		return err
	}
	via, err := update.ParseVia(c.String("via"))
	if err != nil {
		return usageError{err}
	}
	idx, err := strconv.ParseUint(c.String("counter"), 0, 32)
	if err != nil {
		return usageError{fmt.Errorf("--counter %q: want an NV index such as %#08x", c.String("counter"), tpm.DefaultCounterIndex)}
	}
	if _, err := tpm.CounterAt(uint32(idx)); err != nil {
		return usageError{fmt.Errorf("--counter: %w", err)}
	}
	if n := c.Int("launches"); n < 1 || n > update.MaxLaunches {
		return usageError{fmt.Errorf("--launches %d: want 1 to %d", n, update.MaxLaunches)}
	}
	var pub []byte
	if c.IsSet("pub") {
		if pub, err = loadJournalKey(e, c.String("pub"), journal.ParsePublicKey); err != nil {
			return err
		}
	}
	names, files, err := sealedFiles(c, true)
	if err != nil {
		return err
	}
	pin, err := updatePIN(e, c, files)
	if err != nil {
		return err
	}
	fw, fwOpts, fwStart, err := firmwarePrediction(c, via, jp, sp, pub)
	if err != nil {
		return err
	}
	next, nextWhat, err := nextLaunch(c, via, fwStart)
	if err != nil {
		return err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	jopts, err := journalAnchorOpts(c, t)
	if err != nil {
		return err
	}
	pending, err := update.CheckJournal(jp, sp, pub, jopts...)
	if err != nil {
		return err
	}
	if err := pending.CheckVia(via); err != nil {
		return err
	}
	opts := append([]update.Option{update.WithVia(via), update.WithCounter(uint32(idx)),
		update.WithLaunches(c.Int("launches")), update.WithPIN(pin), update.WithChangedPCRs(pending.PCRs...)}, next...)
	opts = append(opts, fwOpts...)
	rep := prepareReport{Journal: pending, Firmware: fw}
	for i, s := range files {
		plan, err := update.Prepare(t, s, saveSealed(names[i]), opts...)
		if errors.Is(err, launch.ErrNeedImage) {
			err = fmt.Errorf("%w (give the images with --next-root or --relaunch-root)", err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		rep.Files = append(rep.Files, preparedFile{names[i], plan})
	}
	if c.Bool("json") {
		return e.writeJSON(rep)
	}
	fmt.Fprint(e.stdout, pending.Text(jp))
	printFirmwareReport(e, fw)
	if d := fw.describe(); d != "" {
		nextWhat = strings.Join(slices.DeleteFunc([]string{nextWhat, d}, func(s string) bool { return s == "" }), "; ")
	}
	for _, f := range rep.Files {
		fmt.Fprintf(e.stdout, "%s: %s\n", f.File, f.Plan.Text(nextWhat))
	}
	return nil
}

type finishedFile struct {
	File string `json:"file"`
	*update.Finished
}

// sealedInputs are what update finish and status work on.
type sealedInputs struct {
	names []string
	files []*tpm.Sealed
	pin   []byte
	logs  []*tpm.EventLog
	// logProblem says why the event log is unusable ("" when it is not).
	logProblem string
	t          *tpm.Conn
}

// openSealedInputs reads the --sealed files (checked to be replaceable
// when the command rewrites them), the PIN they need, the current event
// logs, and opens the TPM (the caller closes in.t).
func openSealedInputs(e *env, c *cli.Context, replace bool) (*sealedInputs, error) {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return nil, err
	}
	names, files, err := sealedFiles(c, replace)
	if err != nil {
		return nil, err
	}
	pin, err := updatePIN(e, c, files)
	if err != nil {
		return nil, err
	}
	logs, problem, err := currentLogs(c.StringSlice("eventlog"))
	if err != nil {
		return nil, err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return nil, err
	}
	return &sealedInputs{names, files, pin, logs, problem, t}, nil
}

func updateFinish(e *env, c *cli.Context) error {
	in, err := openSealedInputs(e, c, true)
	if err != nil {
		return err
	}
	defer in.t.Close()
	names, files, pin, logs, t := in.names, in.files, in.pin, in.logs, in.t
	opts := []update.Option{update.WithPIN(pin), update.WithEventLogs(logs...), update.WithForce(c.Bool("force"))}
	var done []finishedFile
	for i, s := range files {
		f, err := update.Finish(t, s, saveSealed(names[i]), opts...)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		done = append(done, finishedFile{names[i], f})
	}
	if c.Bool("json") {
		return e.writeJSON(struct {
			Files []finishedFile `json:"files"`
		}{done})
	}
	for _, f := range done {
		fmt.Fprintf(e.stdout, "%s: %s\n", f.File, f.Finished)
		if w := f.Window; w != nil {
			fmt.Fprintf(e.stdout, "%s: update window: counter %#08x in %d..%d closes at the next launch past it (only the pre-launch stage counts)\n", f.File, w.Index, w.Min, w.Max)
		}
	}
	return nil
}

// statusReport is one file of `update status --json`.
type statusReport struct {
	File string `json:"file"`
	*update.Status
}

func updateStatus(e *env, c *cli.Context) error {
	in, err := openSealedInputs(e, c, false)
	if err != nil {
		return err
	}
	defer in.t.Close()
	var out []statusReport
	var firstErr error
	for i, s := range in.files {
		st, err := update.FileStatus(in.t, s, update.WithPIN(in.pin), update.WithEventLogs(in.logs...), update.WithLogUnavailable(in.logProblem))
		if st == nil {
			return fmt.Errorf("%s: %w", in.names[i], err)
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", in.names[i], err)
		}
		out = append(out, statusReport{in.names[i], st})
	}
	if c.Bool("json") {
		if err := e.writeJSON(out); err != nil {
			return err
		}
		return firstErr
	}
	for _, st := range out {
		fmt.Fprintf(e.stdout, "%s: %s\n", st.File, st.Status)
	}
	return firstErr
}

// readExpected reads a file of PCR values (and their events).
func readExpected(name string) (*tpm.Expected, error) {
	b, err := readInput(name, inPCRValues)
	if err != nil {
		return nil, err
	}
	var x tpm.Expected
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, inputError{name, err}
	}
	return &x, nil
}
