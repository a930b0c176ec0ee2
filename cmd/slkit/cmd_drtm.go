package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// drtmCommand is `slkit drtm`: the DRTM probe and the staging backends.
func drtmCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "drtm",
		Usage: "dynamic launch (Intel TXT, AMD SKINIT): readiness and staging",
		Subcommands: []*cli.Command{
			{
				Name:  "status",
				Usage: "report Intel TXT and AMD SKINIT readiness with every blocking reason (exit 0 also when not capable)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "platform", Usage: "probe the recorded register values in `FILE` instead of this machine"},
					&cli.StringFlag{Name: "save", Usage: "also save the register values read as a recording in `FILE`"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error { return drtmStatus(e, c) },
			},
			{
				Name:  "stage",
				Usage: "stage a dynamic launch with a backend: emulated, grub or hardware",
				Description: "emulated: writes the emulated DCE (slb.bin, dce-blob.bin), the SLRT, the DRTM log prefix\n" +
					"  and the predicted PCR17/18 (expected.json, prediction.json) to --out DIR.\n" +
					"grub: writes a TrenchBoot GRUB menu entry to --out FILE (paths as GRUB sees them).\n" +
					"hardware: probes, stages and validates, then refuses (exit 3): no ring-0 dynamic-launch stub;\n" +
					"  with --out DIR it writes what it staged and checklist.txt, what a ring-0 launch still needs here.\n" +
					"See slaunch/README.md.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "backend", Usage: "emulated, grub or hardware (required)"},
					&cli.StringFlag{Name: "kernel", Usage: "kernel image `FILE` (required)"},
					&cli.StringFlag{Name: "initrd", Usage: "initrd `FILE` (default: none)"},
					&cli.StringFlag{Name: "cmdline", Usage: "kernel command line (UTF-8)"},
					&cli.StringFlag{Name: "dce", Usage: "SINIT ACM or SKL `FILE` (grub, hardware)"},
					&cli.StringFlag{Name: "out", Usage: "output directory (emulated; hardware: the staged files and checklist.txt) or menu entry file (grub)"},
					&cli.StringFlag{Name: "title", Usage: "GRUB menu entry title"},
					&cli.StringFlag{Name: "grub-root", Usage: "grub: where GRUB's root device is mounted here (/boot: /boot/vmlinuz is written as /vmlinuz; default: paths as given)"},
					&cli.BoolFlag{Name: "unrestricted", Usage: "grub: let anyone at the console boot the entry even with a GRUB superuser password"},
					&cli.StringFlag{Name: "platform", Usage: "hardware: probe the recording in `FILE` instead of this machine"},
					&cli.StringSliceFlag{Name: "bank", Usage: "bank to predict (repeatable; default sha1, sha256, sha384, sha512)"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error { return drtmStage(e, c) },
			},
			{
				Name:  "verify",
				Usage: "in the launched OS: check that a dynamic launch happened and that the DRTM log replays to PCR17/18 in every bank (exit 3 if not)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "log", Value: launch.DRTMTargetLogPath, Usage: "DRTM event log `FILE` (default: a Secure Launch kernel's securityfs log when there is one, else the one slkit launch hands over)"},
					&cli.StringFlag{Name: "securityfs", Value: slaunch.SecurityFSDir, Usage: "the Secure Launch kernel's securityfs `DIR` (eventlog, txt/): a copy can be read elsewhere"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error { return drtmVerify(e, c) },
			},
			drtmLeaveCommand(e),
		},
	}
}

// drtmVerify is `slkit drtm verify`: slaunch.ReportDRTM of the DRTM log
// against the TPM. Without --log, a Secure Launch kernel's securityfs log
// (the whole LOG_INFO buffer) is read when there is one, with the TXT
// registers next to it; else the log slkit launch handed over. A missing
// log is a verdict (no DRTM log: exit 3), a malformed or empty one an
// input error.
func drtmVerify(e *env, c *cli.Context) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	name := c.String("log")
	sfs := c.String("securityfs")
	var txt *slaunch.KernelTXTRegisters
	if kernelLog := filepath.Join(sfs, "eventlog"); !c.IsSet("log") && exists(kernelLog) {
		name = kernelLog
		var err error
		if txt, err = slaunch.ReadKernelTXTRegisters(os.DirFS(sfs)); err != nil {
			return inputError{"", err}
		}
	}
	var klog *slaunch.KernelLog
	b, err := fsys.OS{}.ReadFile(name, slaunch.MaxKernelLogSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return inputError{name, pe.Err}
		}
		return inputError{"", err}
	default:
		if klog, err = slaunch.ParseKernelLog(b); err != nil {
			return inputError{name, err}
		}
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	var log *tpm.EventLog
	if klog != nil {
		log = klog.Log
	}
	r, err := slaunch.ReportDRTM(t, log)
	if err != nil {
		return err
	}
	r.Log, r.TXT = klog, txt
	if c.Bool("json") {
		if err := e.writeJSON(r); err != nil {
			return err
		}
	} else {
		fmt.Fprint(e.stdout, r.Text(name))
	}
	if r.OK {
		return nil
	}
	if klog == nil {
		return fmt.Errorf("%w (no DRTM log: %s does not exist)", r.Err(), name)
	}
	return r.Err()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// drtmPlatform is the machine, or a recording given with --platform.
func drtmPlatform(c *cli.Context) (slaunch.Platform, error) {
	p := c.String("platform")
	if p == "" {
		return slaunch.NewHostPlatform(), nil
	}
	b, err := readInput(p, inRecording)
	if err != nil {
		return nil, err
	}
	r, err := slaunch.ParseRecording(b)
	if err != nil {
		return nil, inputError{p, err}
	}
	return r, nil
}

func drtmStatus(e *env, c *cli.Context) error {
	p, err := drtmPlatform(c)
	if err != nil {
		return err
	}
	rec := &slaunch.Recording{Comment: "recorded by slkit drtm status"}
	if c.String("save") != "" {
		p = slaunch.Record(p, rec)
	}
	s := slaunch.Probe(p)
	if out := c.String("save"); out != "" {
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return err
		}
		if err := fsys.WriteFile(fsys.OS{}, out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if c.Bool("json") {
		return e.writeJSON(s)
	}
	fmt.Fprint(e.stdout, s.Text())
	return nil
}

func drtmStage(e *env, c *cli.Context) error {
	if err := needFlags(c, "backend", "kernel"); err != nil {
		return err
	}
	switch b := c.String("backend"); b {
	case "emulated":
		return drtmStageEmulated(e, c)
	case "grub":
		return drtmStageGRUB(e, c)
	case "hardware":
		return drtmStageHardware(e, c)
	default:
		return usageError{fmt.Errorf("drtm stage: --backend %q: want emulated, grub or hardware", b)}
	}
}

// stageBanks are the --bank banks, by default those predict covers.
func stageBanks(c *cli.Context) ([]tpm.Alg, error) {
	banks, err := bankFlags(c)
	if len(banks) == 0 {
		banks = defaultPredictBanks
	}
	return banks, err
}

func drtmStageEmulated(e *env, c *cli.Context) error {
	if err := needFlags(c, "out"); err != nil {
		return err
	}
	banks, err := stageBanks(c)
	if err != nil {
		return err
	}
	ent, prof, done, err := loadEntry(c)
	if err != nil {
		return err
	}
	defer done()
	pred, err := launch.PredictEmulatedDRTM(ent, prof, banks)
	if err != nil {
		return flagInputError(c, "kernel", err)
	}
	st, dir := pred.Stage, c.String("out")
	if err := st.WriteDir(dir); err != nil {
		return err
	}
	return e.report(c, st.Prediction, fmt.Sprintf("emulated DCE staged in %s: the rig host runs _TPM_Hash over %s (%d bytes)\n%s",
		dir, slaunch.StageDCEBlob, len(st.DCEBlob), st.Prediction.Text()))
}

func drtmStageGRUB(e *env, c *cli.Context) error {
	if err := needFlags(c, "dce", "out"); err != nil {
		return err
	}
	dce, err := readInput(c.String("dce"), inDCE)
	if err != nil {
		return err
	}
	if _, aerr := slaunch.ParseACM(dce); aerr != nil {
		if _, serr := slaunch.ParseSKL(dce); serr != nil {
			return inputError{c.String("dce"), fmt.Errorf("neither a SINIT ACM (%v) nor an SKL (%v)", aerr, serr)}
		}
	}
	ent, _, done, err := loadEntry(c)
	if err != nil {
		return err
	}
	defer done()
	// Only a Secure Launch kernel can be launched: a v15 kernel with its
	// static MLE header, or a v16 kernel that hands the header's offset to
	// the loader at run time. The entry says which, and what the loader
	// does.
	k, err := slaunch.DetectSecureLaunch(ent.Kernel.R, ent.Kernel.Size)
	if err != nil {
		return flagInputError(c, "kernel", err)
	}
	ge := slaunch.GRUBEntry{Title: c.String("title"), Cmdline: c.String("cmdline"), Unrestricted: c.Bool("unrestricted"),
		Comments: k.Describe()}
	ge.Comments[0] = "slkit: " + filepath.Base(c.String("kernel")) + ": " + ge.Comments[0]
	for _, p := range []struct {
		dst  *string
		flag string
	}{{&ge.DCE, "dce"}, {&ge.Kernel, "kernel"}, {&ge.Initrd, "initrd"}} {
		if *p.dst, err = slaunch.GRUBPath(c.String("grub-root"), c.String(p.flag)); err != nil {
			return usageError{fmt.Errorf("--%s: %w", p.flag, err)}
		}
	}
	text, err := ge.MenuEntry()
	if err != nil {
		return usageError{err}
	}
	if err := fsys.WriteFile(fsys.OS{}, c.String("out"), []byte(text), 0o644); err != nil {
		return err
	}
	if c.Bool("json") {
		return e.writeJSON(map[string]string{"menuentry": text, "out": c.String("out")})
	}
	_, err = io.WriteString(e.stdout, text)
	return err
}

func drtmStageHardware(e *env, c *cli.Context) error {
	if err := needFlags(c, "dce"); err != nil {
		return err
	}
	p, err := drtmPlatform(c)
	if err != nil {
		return err
	}
	dce, err := readInput(c.String("dce"), inDCE)
	if err != nil {
		return err
	}
	banks, err := stageBanks(c)
	if err != nil {
		return err
	}
	ent, _, done, err := loadEntry(c)
	if err != nil {
		return err
	}
	defer done()
	st, err := slaunch.StageHardware(slaunch.HardwareInput{Platform: p, Images: launch.DRTMImages(ent), DCE: dce, Banks: banks})
	var fe *slaunch.FormatError
	if errors.As(err, &fe) && fe.What == "kernel" || errors.Is(err, slaunch.ErrNoMLEHeader) {
		return flagInputError(c, "kernel", err)
	}
	if dir := c.String("out"); dir != "" && (errors.Is(err, slaunch.ErrNeedsDLStub) || errors.Is(err, slaunch.ErrNotCapable)) {
		if werr := st.WriteDir(dir); werr != nil {
			return werr
		}
		fmt.Fprintf(e.stdout, "staged in %s; %s lists what a ring-0 launch still needs on this machine\n", dir, slaunch.HardwareChecklistFile)
	}
	return flagInputError(c, "dce", err)
}
