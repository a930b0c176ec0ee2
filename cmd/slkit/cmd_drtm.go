package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/atomicfile"
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
					"hardware: probes, stages and validates, then refuses (exit 3): no ring-0 dynamic-launch stub.\n" +
					"See slaunch/README.md.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "backend", Usage: "emulated, grub or hardware (required)"},
					&cli.StringFlag{Name: "kernel", Usage: "kernel image `FILE` (required)"},
					&cli.StringFlag{Name: "initrd", Usage: "initrd `FILE` (default: none)"},
					&cli.StringFlag{Name: "cmdline", Usage: "kernel command line (UTF-8)"},
					&cli.StringFlag{Name: "dce", Usage: "SINIT ACM or SKL `FILE` (grub, hardware)"},
					&cli.StringFlag{Name: "out", Usage: "output directory (emulated) or menu entry file (grub)"},
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
					&cli.StringFlag{Name: "log", Value: launch.DRTMTargetLogPath, Usage: "DRTM event log `FILE` (default: the one slkit launch hands over)"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error { return drtmVerify(e, c) },
			},
			drtmLeaveCommand(e),
		},
	}
}

// drtmVerify is `slkit drtm verify`: slaunch.ReportDRTM of the DRTM log
// against the TPM. A missing log is a verdict (no DRTM log: exit 3), a
// malformed one an input error.
func drtmVerify(e *env, c *cli.Context) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	name := c.String("log")
	var log *tpm.EventLog
	b, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return inputError{name, errors.Unwrap(err)}
	default:
		if log, err = tpm.ParseEventLog(b); err != nil {
			return inputError{name, err}
		}
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	r, err := slaunch.ReportDRTM(t, log)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if err := e.writeJSON(r); err != nil {
			return err
		}
	} else {
		verdict := "DRTM happened: " + name + " replays to PCR 17 and 18 in every bank it carries"
		if !r.OK {
			verdict = "DRTM did not happen"
		}
		fmt.Fprintln(e.stdout, verdict)
		for _, b := range r.Banks {
			st := "log matches"
			switch {
			case !b.InLog && b.Match:
				st = "not in the log; PCR 17 left its reset value"
			case !b.InLog:
				st = "not in the log"
			case !b.Match:
				st = fmt.Sprintf("log gives PCR17 %s, PCR18 %s", b.Log17.Short(), b.Log18.Short())
			}
			fmt.Fprintf(e.stdout, "  %-6s PCR17 %s  PCR18 %s  %s\n", b.Bank, b.PCR17, b.PCR18, st)
		}
	}
	if r.OK {
		return nil
	}
	if log == nil {
		return fmt.Errorf("%w (no DRTM log: %s does not exist)", r.Err(), name)
	}
	return r.Err()
}

// drtmPlatform is the machine, or a recording given with --platform.
func drtmPlatform(c *cli.Context) (slaunch.Platform, error) {
	p := c.String("platform")
	if p == "" {
		return slaunch.NewHostPlatform(), nil
	}
	b, err := readInput(p)
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
		if err := atomicfile.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if c.Bool("json") {
		return e.writeJSON(s)
	}
	for _, r := range []slaunch.Readiness{s.TXT, s.SKINIT} {
		name := map[string]string{"txt": "Intel TXT", "skinit": "AMD SKINIT"}[r.Arch]
		fmt.Fprintf(e.stdout, "%s: %s\n", name, r.Verdict)
		for _, x := range r.Reasons {
			fmt.Fprintf(e.stdout, "  - %s\n", x)
		}
		for _, x := range r.Notes {
			fmt.Fprintf(e.stdout, "  note: %s\n", x)
		}
	}
	tpmLine := "no TPM device"
	switch {
	case s.TPMError != "":
		tpmLine = "unknown (" + s.TPMError + ")"
	case s.TPM.Present:
		tpmLine = fmt.Sprintf("TPM %d.0 at %s", s.TPM.VersionMajor, s.TPM.Device)
		if s.TPM.Driver != "" {
			tpmLine += ", driver " + s.TPM.Driver
		}
		if s.TPM.Locality >= 0 {
			tpmLine += fmt.Sprintf(", locality %d", s.TPM.Locality)
		}
	}
	fmt.Fprintf(e.stdout, "CPU: %s, signature %#x; TPM: %s\n", strings.TrimSpace(s.CPU.Vendor), uint32(s.CPU.Signature), tpmLine)
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

// stageImages opens --kernel and, when given, --initrd, and takes
// --cmdline; closeAll closes the files.
func stageImages(c *cli.Context) (im slaunch.Images, closeAll func(), err error) {
	var files []*os.File
	closeAll = func() {
		for _, f := range files {
			f.Close()
		}
	}
	open := func(path string) (*os.File, int64, error) {
		f, err := openInput(path)
		if err != nil {
			return nil, 0, err
		}
		files = append(files, f)
		st, err := f.Stat()
		if err != nil {
			return nil, 0, inputError{path, err}
		}
		if st.Size() == 0 {
			return nil, 0, inputError{path, errors.New("empty file")}
		}
		return f, st.Size(), nil
	}
	im.Cmdline = c.String("cmdline")
	if im.Kernel, im.KernelSize, err = open(c.String("kernel")); err != nil {
		closeAll()
		return im, nil, err
	}
	if p := c.String("initrd"); p != "" {
		f, n, err := open(p)
		if err != nil {
			closeAll()
			return im, nil, err
		}
		im.Initrd, im.InitrdSize = f, n
	}
	return im, closeAll, nil
}

func stageBanks(c *cli.Context) ([]tpm.Alg, error) {
	var banks []tpm.Alg
	for _, s := range c.StringSlice("bank") {
		a, err := tpm.ParseAlg(s)
		if err != nil {
			return nil, usageError{fmt.Errorf("--bank: %w", err)}
		}
		if !slices.Contains(banks, a) {
			banks = append(banks, a)
		}
	}
	if len(banks) == 0 {
		banks = defaultPredictBanks
	}
	return banks, nil
}

// inputErr names the input an slaunch error is about.
func inputErr(name string, err error) error {
	if errors.Is(err, slaunch.ErrMalformed) || errors.Is(err, slaunch.ErrNoMLEHeader) {
		return inputError{name, err}
	}
	return err
}

func drtmStageEmulated(e *env, c *cli.Context) error {
	if err := needFlags(c, "out"); err != nil {
		return err
	}
	banks, err := stageBanks(c)
	if err != nil {
		return err
	}
	in, closeAll, err := stageImages(c)
	if err != nil {
		return err
	}
	defer closeAll()
	st, err := slaunch.StageEmulated(in, banks)
	if err != nil {
		return inputErr(c.String("kernel"), err)
	}
	slrt, err := st.SLRT.MarshalBinary()
	if err != nil {
		return err
	}
	logPrefix, err := st.LogPrefix.MarshalBinary()
	if err != nil {
		return err
	}
	expected, err := json.MarshalIndent(st.Prediction.Expected(), "", "  ")
	if err != nil {
		return err
	}
	pred, err := json.MarshalIndent(st.Prediction, "", "  ")
	if err != nil {
		return err
	}
	dir := c.String("out")
	err = writeStageDir(dir, []stageFile{
		{"slb.bin", st.SLB}, {"dce-blob.bin", st.DCEBlob}, {"slrt.bin", slrt},
		{"drtm-log-prefix.bin", logPrefix}, {"expected.json", append(expected, '\n')}, {"prediction.json", append(pred, '\n')},
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.writeJSON(st.Prediction)
	}
	fmt.Fprintf(e.stdout, "emulated DCE staged in %s: the rig host runs _TPM_Hash over dce-blob.bin (%d bytes)\n", dir, len(st.DCEBlob))
	for _, a := range st.Prediction.Banks {
		p17, _ := st.Prediction.PCRs.Get(a, slaunch.PCRDCE)
		p18, _ := st.Prediction.PCRs.Get(a, slaunch.PCRPolicy)
		fmt.Fprintf(e.stdout, "  %s PCR17 %s\n  %s PCR18 %s\n", a, p17, a, p18)
	}
	return nil
}

type stageFile struct {
	name string
	data []byte
}

// writeStageDir writes the files into a new directory next to dir and
// swaps it into place, so that dir holds the old set or the new one, never
// a mix. An existing dir may only hold a previous stage's files.
func writeStageDir(dir string, files []stageFile) (err error) {
	dir = filepath.Clean(dir)
	known := map[string]bool{}
	for _, f := range files {
		known[f.name] = true
	}
	old, rerr := os.ReadDir(dir)
	switch {
	case rerr == nil:
		for _, de := range old {
			if !known[de.Name()] {
				return inputError{dir, fmt.Errorf("exists and holds %s, which a stage does not write: give a new or empty directory", de.Name())}
			}
		}
	case !errors.Is(rerr, fs.ErrNotExist):
		return rerr
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, f := range files {
		if err := atomicfile.WriteFile(filepath.Join(tmp, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if rerr == nil {
		prev := tmp + ".old"
		if err := os.Rename(dir, prev); err != nil {
			return err
		}
		defer os.RemoveAll(prev)
	}
	return os.Rename(tmp, dir)
}

func drtmStageGRUB(e *env, c *cli.Context) error {
	if err := needFlags(c, "dce", "out"); err != nil {
		return err
	}
	dce, err := readInput(c.String("dce"))
	if err != nil {
		return err
	}
	if _, aerr := slaunch.ParseACM(dce); aerr != nil {
		if _, serr := slaunch.ParseSKL(dce); serr != nil {
			return inputError{c.String("dce"), fmt.Errorf("neither a SINIT ACM (%v) nor an SKL (%v)", aerr, serr)}
		}
	}
	in, closeAll, err := stageImages(c)
	if err != nil {
		return err
	}
	defer closeAll()
	// TrenchBoot GRUB launches only a Secure Launch kernel: it needs the MLE header.
	if _, _, err := slaunch.FindMLEHeader(in.Kernel, in.KernelSize); err != nil {
		return inputErr(c.String("kernel"), err)
	}
	ge := slaunch.GRUBEntry{Title: c.String("title"), Cmdline: c.String("cmdline"), Unrestricted: c.Bool("unrestricted")}
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
	if err := atomicfile.WriteFile(c.String("out"), []byte(text), 0o644); err != nil {
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
	dce, err := readInput(c.String("dce"))
	if err != nil {
		return err
	}
	banks, err := stageBanks(c)
	if err != nil {
		return err
	}
	im, closeAll, err := stageImages(c)
	if err != nil {
		return err
	}
	defer closeAll()
	_, err = slaunch.StageHardware(slaunch.HardwareInput{Platform: p, Images: im, DCE: dce, Banks: banks})
	var fe *slaunch.FormatError
	switch {
	case errors.As(err, &fe) && fe.What == "kernel", errors.Is(err, slaunch.ErrNoMLEHeader):
		return inputError{c.String("kernel"), err}
	case errors.Is(err, slaunch.ErrMalformed):
		return inputError{c.String("dce"), err}
	}
	return err
}
