package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/atomicfile"
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
					&cli.StringFlag{Name: "policy-key", Usage: "public key `FILE` the launch policies verify under (required with --next-policy or --relaunch-policy)"},
					&cli.StringFlag{Name: "start", Usage: "--via reboot: PCR values before the next boot's launch, JSON as `slkit pcr read --json` prints (default: reset values)"},
					&cli.StringFlag{Name: "next-pcrs", Usage: "seal to these predicted values instead (JSON of `slkit predict --json`)"},
					&cli.StringFlag{Name: "counter", Value: fmt.Sprintf("%#08x", tpm.DefaultCounterIndex), Usage: "update-window NV counter `INDEX` (defined when missing; owner auth empty)"},
					&cli.IntFlag{Name: "launches", Value: 1, Usage: "the window lasts this many launches (1-16)"},
					jsonFlag), append(pinFlags, bootPredictFlags()...)...),
				Action: func(c *cli.Context) error { return updatePrepare(e, c) },
			},
			{
				Name:  "finish",
				Usage: "after the post-update launch: reseal each secret to the current PCR values and close the update window",
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

// sealedFiles reads every --sealed file.
func sealedFiles(c *cli.Context) ([]string, []*tpm.Sealed, error) {
	names := c.StringSlice("sealed")
	if len(names) == 0 {
		return nil, nil, usageError{fmt.Errorf("%s: --sealed is required", c.Command.FullName())}
	}
	var out []*tpm.Sealed
	for _, n := range names {
		b, err := readInput(n)
		if err != nil {
			return nil, nil, err
		}
		s, err := tpm.ParseSealed(b)
		if err != nil {
			return nil, nil, inputError{n, err}
		}
		out = append(out, s)
	}
	return names, out, nil
}

// saveSealed replaces a sealed file atomically (mode 0600).
func saveSealed(name string) func(*tpm.Sealed) error {
	return func(s *tpm.Sealed) error {
		b, err := s.Marshal()
		if err != nil {
			return err
		}
		return atomicfile.WriteFile(name, b, 0o600)
	}
}

func readExpected(name string) (*tpm.Expected, error) {
	b, err := readInput(name)
	if err != nil {
		return nil, err
	}
	var x tpm.Expected
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, inputError{name, err}
	}
	return &x, nil
}

// updatePIN reads the PIN when a file requires one (one PIN for all).
func updatePIN(e *env, c *cli.Context, files []*tpm.Sealed) ([]byte, error) {
	need := c.Bool("pin") || c.String("pin-file") != ""
	for _, s := range files {
		need = need || s.Policy.PIN
	}
	if !need {
		return nil, nil
	}
	if !c.Bool("pin") && c.String("pin-file") == "" {
		return nil, usageError{errors.New("a sealed file requires a PIN: give --pin or --pin-file")}
	}
	return readPIN(e, c, false)
}

// nextLaunch turns the prediction flags into the values the next launch
// extends PCRs to (nil: keep the current values).
func nextLaunch(c *cli.Context, t tpm.TPMSender, via update.Via, fwStart *tpm.PCRs) (*tpm.Expected, string, error) {
	if c.IsSet("next-pcrs") {
		for _, f := range []string{"next-policy", "relaunch-policy", "start"} {
			if c.IsSet(f) {
				return nil, "", usageError{fmt.Errorf("update prepare: --next-pcrs and --%s exclude each other", f)}
			}
		}
		x, err := readExpected(c.String("next-pcrs"))
		return x, "the values in " + c.String("next-pcrs"), err
	}
	if c.IsSet("relaunch-policy") && via != update.ViaKexec {
		return nil, "", usageError{errors.New("update prepare: --relaunch-policy is for --via kexec")}
	}
	if c.IsSet("start") && via != update.ViaReboot {
		return nil, "", usageError{errors.New("update prepare: --start is for --via reboot (a kexec starts from the current values)")}
	}
	var launches []update.Launch
	var what []string
	add := func(pflag, eflag string) error {
		if !c.IsSet(pflag) {
			if c.IsSet(eflag) {
				return usageError{fmt.Errorf("update prepare: --%s needs --%s", eflag, pflag)}
			}
			return nil
		}
		if err := needFlags(c, "policy-key"); err != nil {
			return err
		}
		signed, err := readInput(c.String(pflag))
		if err != nil {
			return err
		}
		pub, err := loadKey(c.String("policy-key"), policy.ParsePublicKey)
		if err != nil {
			return err
		}
		launches = append(launches, update.Launch{Signed: signed, Pub: pub, Entry: c.String(eflag)})
		what = append(what, fmt.Sprintf("%s entry %q", c.String(pflag), c.String(eflag)))
		return nil
	}
	if err := add("relaunch-policy", "relaunch-entry"); err != nil {
		return nil, "", err
	}
	if err := add("next-policy", "next-entry"); err != nil {
		return nil, "", err
	}
	if len(launches) == 0 {
		return nil, "", nil
	}
	var start *tpm.PCRs
	from := "reset values"
	switch {
	case via == update.ViaKexec:
		// No TPM reset on the way: the launches extend the current values.
		cur, err := tpm.ReadPCRs(t, tpm.Selection{tpm.SHA256: {8, 9}})
		if err != nil {
			return nil, "", err
		}
		start, from = cur, "the current PCR values"
	case c.IsSet("start"):
		x, err := readExpected(c.String("start"))
		if err != nil {
			return nil, "", err
		}
		start, from = &x.PCRs, c.String("start")
	case fwStart != nil:
		start, from = fwStart, "the predicted firmware values (PCR 9: the EFI stub's measurements)"
	}
	x, err := update.PredictLaunches(start, launches...)
	if err != nil {
		return nil, "", err
	}
	return x, "predicted for " + strings.Join(what, " then ") + " from " + from, nil
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
	pending, err := update.CheckJournal(jp, sp, pub)
	if err != nil {
		return err
	}
	if via == update.ViaKexec && len(pending.Reboot) > 0 {
		return fmt.Errorf("%w: journal entry %s takes effect only through a firmware reboot, which a kexec round trip skips: use --via reboot", update.ErrPlan, pending.Reboot[0])
	}
	names, files, err := sealedFiles(c)
	if err != nil {
		return err
	}
	pin, err := updatePIN(e, c, files)
	if err != nil {
		return err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	fw, fwOpts, fwStart, err := firmwarePrediction(c, via, jp, sp, pub)
	if err != nil {
		return err
	}
	next, nextWhat, err := nextLaunch(c, t, via, fwStart)
	if err != nil {
		return err
	}
	opts := append([]update.Option{update.WithVia(via), update.WithNext(next), update.WithCounter(uint32(idx)),
		update.WithLaunches(c.Int("launches")), update.WithPIN(pin)}, fwOpts...)
	rep := prepareReport{Journal: pending, Firmware: fw}
	for i, s := range files {
		plan, err := update.Prepare(t, s, saveSealed(names[i]), opts...)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		rep.Files = append(rep.Files, preparedFile{names[i], plan})
	}
	if c.Bool("json") {
		return e.writeJSON(rep)
	}
	verified := "signature not checked (give --pub)"
	if pending.Verified {
		verified = "signature verified"
	}
	fmt.Fprintf(e.stdout, "journal %s: generation %d, %d of %d entries pending, %s\n", jp, pending.Generation, pending.Pending, pending.Entries, verified)
	if len(pending.Reboot) > 0 {
		fmt.Fprintf(e.stdout, "  the pre-launch environment reboots through the firmware after committing (%s)\n", strings.Join(pending.Reboot, "; "))
	}
	printFirmwareReport(e, fw)
	for _, f := range rep.Files {
		p := f.Plan
		if p.Unchanged != "" {
			fmt.Fprintf(e.stdout, "%s: unchanged: %s\n", f.File, p.Unchanged)
			continue
		}
		line := fmt.Sprintf("%s: update object sealed to %s PCRs %s", f.File, files[0].Policy.Bank, pcrList(p.PCRs))
		if len(p.Predicted) > 0 {
			line += fmt.Sprintf(", PCRs %s %s", pcrList(p.Predicted), strings.Join(slices.DeleteFunc([]string{nextWhat, fw.describe()}, func(s string) bool { return s == "" }), "; "))
		}
		if w := p.Window; w != nil {
			line += fmt.Sprintf("; firmware PCRs %s left out, bounded by the update window: counter %#08x in %d..%d (now %d", pcrList(p.Dropped), w.Index, w.Min, w.Max, p.Counter)
			if p.DefinedCounter {
				line += ", defined now"
			}
			line += ": the next launch opens it)"
		}
		fmt.Fprintln(e.stdout, line)
	}
	return nil
}

func pcrList(pcrs []int) string {
	s := make([]string, len(pcrs))
	for i, p := range pcrs {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

type finishedFile struct {
	File     string             `json:"file"`
	ByUpdate bool               `json:"by_update"`
	Refusal  string             `json:"main_refusal,omitempty"`
	PCRs     []int              `json:"pcrs"`
	Window   *tpm.SealedCounter `json:"window,omitempty"`
}

// sealedInputs are what update finish and status work on.
type sealedInputs struct {
	names []string
	files []*tpm.Sealed
	pin   []byte
	logs  []*tpm.EventLog
	t     *tpm.Conn
}

// openSealedInputs reads the --sealed files, the PIN they need, the
// current event logs, and opens the TPM (the caller closes in.t).
func openSealedInputs(e *env, c *cli.Context) (*sealedInputs, error) {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return nil, err
	}
	names, files, err := sealedFiles(c)
	if err != nil {
		return nil, err
	}
	pin, err := updatePIN(e, c, files)
	if err != nil {
		return nil, err
	}
	logs, err := currentLogs(c.StringSlice("eventlog"))
	if err != nil {
		return nil, err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return nil, err
	}
	return &sealedInputs{names, files, pin, logs, t}, nil
}

func updateFinish(e *env, c *cli.Context) error {
	in, err := openSealedInputs(e, c)
	if err != nil {
		return err
	}
	defer in.t.Close()
	names, files, pin, logs, t := in.names, in.files, in.pin, in.logs, in.t
	opts := []update.Option{update.WithPIN(pin), update.WithEventLogs(logs...), update.WithForce(c.Bool("force"))}
	var done []finishedFile
	var windows []*tpm.SealedCounter
	for i, s := range files {
		f, err := update.Finish(t, s, saveSealed(names[i]), opts...)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		x := finishedFile{File: names[i], ByUpdate: f.ByUpdate, PCRs: f.PCRs, Window: f.Window}
		if f.Refusal != nil {
			x.Refusal = oneLine(f.Refusal.Error())
		}
		done = append(done, x)
		windows = append(windows, f.Window)
	}
	// Every file is saved: only now close the windows.
	after, err := update.CloseWindows(t, windows...)
	if err != nil {
		return fmt.Errorf("every file is resealed, but closing the update window failed (the next launches close it): %w", err)
	}
	if c.Bool("json") {
		return e.writeJSON(struct {
			Files    []finishedFile    `json:"files"`
			Counters map[uint32]uint64 `json:"counters"`
		}{done, after})
	}
	for _, f := range done {
		how := "the main object released the secret"
		if f.ByUpdate {
			how = "the update object released the secret; the main object was refused: " + strings.TrimPrefix(f.Refusal, "unseal refused: ")
		}
		fmt.Fprintf(e.stdout, "%s: resealed to the current PCRs %s (%s)\n", f.File, pcrList(f.PCRs), how)
	}
	for idx, v := range after {
		fmt.Fprintf(e.stdout, "update window closed: counter %#08x is now %d\n", idx, v)
	}
	return nil
}

type fileStatus struct {
	File string `json:"file"`
	// Unseals is "main", "update" or "" (refused).
	Unseals string             `json:"unseals"`
	Refusal string             `json:"refusal,omitempty"`
	Window  *tpm.SealedCounter `json:"window,omitempty"`
	Counter *uint64            `json:"counter,omitempty"`
	// WindowPCRs are the main object's PCRs the update object leaves to
	// the window (the firmware PCRs slkit could not predict).
	WindowPCRs []int `json:"window_pcrs,omitempty"`
}

func updateStatus(e *env, c *cli.Context) error {
	in, err := openSealedInputs(e, c)
	if err != nil {
		return err
	}
	defer in.t.Close()
	names, files, pin, logs, t := in.names, in.files, in.pin, in.logs, in.t
	var out []fileStatus
	var firstErr error
	for i, s := range files {
		var info tpm.UnsealInfo
		secret, err := tpm.Unseal(t, s, tpm.WithUnsealPIN(pin), tpm.WithEventLogs(logs...), tpm.WithUnsealInfo(&info))
		clear(secret)
		st := fileStatus{File: names[i]}
		if s.Update != nil {
			st.Window = s.Update.Policy.Counter
			for _, i := range s.Policy.PCRs {
				if st.Window != nil && !slices.Contains(s.Update.Policy.PCRs, i) {
					st.WindowPCRs = append(st.WindowPCRs, i)
				}
			}
		}
		switch {
		case err != nil:
			st.Refusal = oneLine(err.Error())
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", names[i], err)
			}
		case info.Update:
			st.Unseals, st.Refusal = "update", oneLine(info.Refusal.Error())
		default:
			st.Unseals = "main"
		}
		if w := st.Window; w != nil {
			if ctr, err := tpm.OpenCounter(t, w.Index); err == nil {
				if v, err := ctr.Read(t); err == nil {
					st.Counter = &v
				}
			}
		}
		out = append(out, st)
	}
	if c.Bool("json") {
		if err := e.writeJSON(out); err != nil {
			return err
		}
		return firstErr
	}
	for _, st := range out {
		switch st.Unseals {
		case "main":
			fmt.Fprintf(e.stdout, "%s: the main object unseals", st.File)
		case "update":
			fmt.Fprintf(e.stdout, "%s: the update object unseals (the main object is refused: %s)", st.File, strings.TrimPrefix(st.Refusal, "unseal refused: "))
		default:
			fmt.Fprintf(e.stdout, "%s: refused: %s", st.File, strings.TrimPrefix(st.Refusal, "unseal refused: "))
		}
		if w := st.Window; w != nil {
			fmt.Fprintf(e.stdout, "; update window: counter %#08x in %d..%d", w.Index, w.Min, w.Max)
			if st.Counter != nil {
				fmt.Fprintf(e.stdout, ", now %d", *st.Counter)
			}
			fmt.Fprintf(e.stdout, " (for firmware PCRs %s)", pcrList(st.WindowPCRs))
		}
		fmt.Fprintln(e.stdout)
	}
	return firstErr
}
