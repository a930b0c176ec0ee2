package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

func (e *env) drtmStage(c *cli.Context) error {
	switch b := c.String("backend"); b {
	case "emulated":
		return e.drtmStageEmulated(c)
	case "grub":
		return e.drtmStageGRUB(c)
	case "hardware":
		return e.drtmStageHardware(c)
	default:
		return usage(fmt.Errorf("drtm stage: --backend %q: want emulated, grub or hardware", b))
	}
}

// stageBanks are the --bank banks, by default tpm.CommonBanks.
func stageBanks(c *cli.Context) ([]tpm.Alg, error) {
	banks, err := bankFlags(c)
	if len(banks) == 0 {
		banks = tpm.CommonBanks
	}
	return banks, err
}

func (e *env) drtmStageEmulated(c *cli.Context) error {
	if err := clikit.NeedFlags(c, "out"); err != nil {
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
	return e.report(c, st.Prediction, st.Text(dir))
}

func (e *env) drtmStageGRUB(c *cli.Context) error {
	if err := clikit.NeedFlags(c, "dce", "out"); err != nil {
		return err
	}
	if _, err := fsys.ReadInput(slaunch.DCEInput, c.String("dce"), func(b []byte) (any, error) { return nil, slaunch.CheckDCEModule(b) }); err != nil {
		return err
	}
	ent, _, done, err := loadEntry(c)
	if err != nil {
		return err
	}
	defer done()
	text, err := slaunch.GRUBStage{Kernel: c.String("kernel"), KernelImage: ent.Kernel.R, KernelSize: ent.Kernel.Size,
		Initrd: c.String("initrd"), DCE: c.String("dce"), Root: c.String("grub-root"),
		Title: c.String("title"), Cmdline: c.String("cmdline"), Unrestricted: c.Bool("unrestricted")}.MenuEntry()
	if err != nil {
		return err
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

func (e *env) drtmStageHardware(c *cli.Context) error {
	if err := clikit.NeedFlags(c, "dce"); err != nil {
		return err
	}
	p, err := drtmPlatform(c)
	if err != nil {
		return err
	}
	dce, err := slaunch.DCEInput.Read(c.String("dce"))
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
	written, err := slaunch.HardwareFiles{Kernel: c.String("kernel"), DCE: c.String("dce"), Out: c.String("out")}.
		Stage(slaunch.HardwareInput{Platform: p, Images: launch.DRTMImages(ent), DCE: dce, Banks: banks})
	if written {
		fmt.Fprintf(e.stdout, "staged in %s; %s lists what a ring-0 launch still needs on this machine\n", c.String("out"), slaunch.HardwareChecklistFile)
	}
	return err
}
