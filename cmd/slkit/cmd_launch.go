package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

func measureCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "measure",
		Usage: "measure a boot entry into the TPM (one PCR_Extend per event, all banks) and append to the event log",
		Flags: append(entryFlags(),
			&cli.StringFlag{Name: "log", Value: launch.DefaultLogPath, Usage: "pre-launch event log `FILE` to append to (created when missing)"},
			jsonFlag,
		),
		Description: "--json prints {\"banks\":[ALG...],\"events\":[EVENT...],\"log\":FILE,\"log_events\":N}: the events\n" +
			"extended (as `eventlog show --json` writes events) and the log's event count.",
		Action: func(c *cli.Context) error { return measure(e, c) },
	}
}

func measure(e *env, c *cli.Context) error {
	ent, prof, done, err := loadEntry(c, "kernel", "cmdline")
	if err != nil {
		return err
	}
	defer done()
	if err := inEventLog.Check(c.String("log"), true); err != nil {
		return err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	m, err := launch.Measure(t, ent, prof, launch.WithLogFile(c.String("log")))
	if m == nil {
		return err
	}
	text := tpm.EventsText(m.Events, m.Banks[len(m.Banks)-1])
	if err == nil {
		text += fmt.Sprintf("extended %d events in banks %s; event log %s (%d events)\n",
			len(m.Events), tpm.AlgList(m.Banks), m.LogPath, len(m.Log.Events))
	}
	rep := measureReport{Banks: m.Banks, Events: m.Events, Log: m.LogPath, LogEvents: len(m.Log.Events)}
	if rerr := e.report(c, rep, text); rerr != nil {
		return rerr
	}
	return err
}

// measureReport is `measure --json` (also printed, for the events
// extended before it, when the measurement fails partway).
type measureReport struct {
	Banks     []tpm.Alg   `json:"banks"`
	Events    []tpm.Event `json:"events"`
	Log       string      `json:"log"`
	LogEvents int         `json:"log_events"`
}

func launchCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "launch",
		Usage: "pre-launch entry point: verify the signed policy, measure, kexec",
		Description: "Verifies the signed launch policy under the public key before anything else,\n" +
			"measures the policy file (PCR 8), checks the entry's kernel and initrd against the\n" +
			"policy's SHA-256 (a mismatch never boots and exits 3), measures kernel, initrd and\n" +
			"command line, appends the event log to the initrd (at " + launch.TargetLogPath + ")\n" +
			"and hands over with kexec. Phase markers go to stderr as\n" +
			"`slkit: phase=<name> t=<seconds>s` (seconds since the command started).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "policy", Usage: "signed launch policy `FILE` (required)"},
			&cli.StringFlag{Name: "policy-key", Usage: "Ed25519 public key `FILE` (PEM) the policy must verify under (required)"},
			&cli.StringFlag{Name: "entry", Usage: "policy entry `NAME` (default: slkit.entry=NAME on the kernel command line, else the first entry)"},
			&cli.StringSliceFlag{Name: "handover", Usage: "hand `SRC:DST` to the launched kernel, unmeasured, next to the event log (e.g. a sealed secret); DST must lie under " + launch.HandoverDir},
			&cli.StringFlag{Name: "log", Value: launch.DefaultLogPath, Usage: "pre-launch event log `FILE`"},
			&cli.StringFlag{Name: "root", Value: "/", Usage: "look up the policy's image paths under `DIR`"},
			&cli.BoolFlag{Name: "dry-run", Usage: "do everything (PCRs are extended) but the kexec"},
			&cli.BoolFlag{Name: "json", Usage: "with --dry-run: print {\"entry\",\"events\":[EVENT...],\"log\",\"kernel\",\"initrd\",\"cmdline\",\"drtm_handover\":[PATH...],\"drtm_fallback\"}"},
		}, append(launchDRTMFlags(), launchEFIFlags()...)...),
		Action: func(c *cli.Context) error { return launchAction(e, c, hostEFISeams()) },
	}
}

func launchAction(e *env, c *cli.Context, es efiSeams) error {
	start := time.Now()
	phase := func(name string) {
		fmt.Fprintf(e.stderr, "slkit: phase=%s t=%.3fs\n", name, time.Since(start).Seconds())
	}
	if err := needFlags(c, "policy", "policy-key"); err != nil {
		return err
	}
	if c.Bool("json") && !c.Bool("dry-run") {
		return usageError{errors.New("launch: --json needs --dry-run (a launch that hands over does not return)")}
	}
	signedName := c.String("policy")
	signed, err := inSigned.Read(signedName)
	if err != nil {
		return err
	}
	pub, err := fsys.ReadInput(inKey, c.String("policy-key"), policy.ParsePublicKey)
	if err != nil {
		return err
	}
	files, err := handoverFiles(c.StringSlice("handover"))
	if err != nil {
		return err
	}
	if err := inEventLog.Check(c.String("log"), true); err != nil {
		return err
	}
	drtm, err := launchDRTMOptions(c)
	if err != nil {
		return err
	}
	efiStep, err := parseLaunchEFI(e, c, es, phase)
	if err != nil {
		return err
	}
	entry := c.String("entry")
	if entry == "" && e.kernelCmdline != nil {
		entry = launch.EntryFromCmdline(e.kernelCmdline())
	}
	if entry == "" {
		if entry, err = entryFromFile(c); err != nil {
			return err
		}
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := checkPolicyAnchor(e, c, t, signed, pub); err != nil {
		return err
	}
	dry := c.Bool("dry-run")
	res, err := launch.Launch(t, signed, pub, append([]launch.LaunchOption{
		launch.WithEntry(entry),
		launch.WithHandoverFiles(files...),
		launch.WithLaunchLog(c.String("log")),
		launch.WithFS(os.DirFS(c.String("root"))),
		launch.WithKexec(launch.NewKexec(launch.WithDryRun(dry))),
		launch.WithPhase(phase),
		launch.WithWarnings(func(m string) { fmt.Fprintf(e.stderr, "slkit: warning: %s\n", oneLine(m)) }),
		launch.WithInfo(func(m string) { fmt.Fprintf(e.stderr, "slkit: %s\n", m) }),
	}, append(drtm, launchEFIOptions(efiStep, t)...)...)...)
	if err != nil {
		if res == nil {
			return inputErr(signedName, err)
		}
		return err
	}
	pe := res.Entry
	initrd := "none"
	rep := dryRunReport{Entry: pe.Name, Events: res.Measurement.Events, Log: res.Measurement.LogPath, Kernel: pe.Kernel.Path, Cmdline: pe.Cmdline}
	if pe.Initrd != nil {
		rep.Initrd = pe.Initrd.Path
		initrd = pe.Initrd.Path + " + event log at " + launch.TargetLogPath
	}
	for _, f := range res.DRTM {
		rep.Handover = append(rep.Handover, f.Path)
	}
	if res.DRTMFallback != nil {
		rep.DRTMFallback = oneLine(res.DRTMFallback.Error())
	}
	return e.report(c, rep, fmt.Sprintf("dry run: entry %q measured (%d events, log %s)%s; would kexec kernel %s, initrd %s, cmdline %q\n",
		pe.Name, len(res.Measurement.Events), res.Measurement.LogPath, drtmDryRunNote(res), pe.Kernel.Path, initrd, pe.Cmdline))
}

// dryRunReport is `launch --dry-run --json`.
type dryRunReport struct {
	Entry  string      `json:"entry"`
	Events []tpm.Event `json:"events"`
	Log    string      `json:"log"`
	Kernel string      `json:"kernel"`
	Initrd string      `json:"initrd,omitempty"`
	// Handover lists the DRTM backend's files handed to the target (the
	// DRTM log), DRTMFallback why the dynamic launch did not happen for
	// an entry that does not require it.
	Handover     []string `json:"drtm_handover,omitempty"`
	DRTMFallback string   `json:"drtm_fallback,omitempty"`
	Cmdline      string   `json:"cmdline"`
}

// handoverFiles reads --handover SRC:DST arguments.
func handoverFiles(args []string) ([]launch.HandoverFile, error) {
	var out []launch.HandoverFile
	for _, a := range args {
		src, dst, ok := strings.Cut(a, ":")
		if !ok || src == "" {
			return nil, usageError{fmt.Errorf("--handover %q: want SRC:DST", a)}
		}
		if err := launch.CheckHandoverPath(dst); err != nil {
			return nil, usageError{fmt.Errorf("--handover %q: %w", a, err)}
		}
		b, err := inHandover.Read(src)
		if err != nil {
			return nil, err
		}
		out = append(out, launch.HandoverFile{Path: dst, Data: b})
	}
	return out, nil
}
