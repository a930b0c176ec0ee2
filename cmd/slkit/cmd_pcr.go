package main

import (
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

func pcrCommand(e *env) *cli.Command {
	return clikit.Group("pcr", "read and extend PCRs",
		clikit.ArgsCmd("read", "[PCR...]", "read PCRs (default: 0-23 in every active bank)", e.pcrRead,
			&cli.StringSliceFlag{Name: "bank", Usage: "bank to read (repeatable; default: all active banks)"}, jsonFlag),
		clikit.Cmd("extend", "extend one PCR in every active bank with one TPM2_PCR_Extend", e.pcrExtend,
			&cli.IntFlag{Name: "pcr", Required: true, Usage: "PCR index"},
			&cli.StringFlag{Name: "data", Usage: "file whose hash (per bank) is extended"},
			&cli.StringFlag{Name: "digest", Usage: "ALG:HEX digest to extend (that bank only)"},
			jsonFlag),
		clikit.Described("Both files are in the shape of `slkit pcr read --json` (`slkit predict --json` adds events,\n"+
			"which are ignored). Every PCR of EXPECTED is compared in each bank ACTUAL has; banks ACTUAL lacks\n"+
			"are skipped (a prediction covers banks the TPM may not have active).",
			clikit.ArgsCmd("compare", "EXPECTED ACTUAL", "compare expected PCR values (predict --json, a sealed expectation) with actual ones (pcr read --json); exit 3 if any differs",
				clikit.NArgs(2, 2, "EXPECTED ACTUAL", e.pcrCompare), jsonFlag)),
	)
}

func (e *env) pcrRead(c *cli.Context) error {
	idx, banks, err := tpm.ReadRequest{PCRs: c.Args().Slice(), Banks: c.StringSlice("bank")}.Parse()
	if err != nil {
		return err
	}
	return reportTPM(e, c, func(t *tpm.Conn) (*tpm.PCRs, error) { return tpm.ReadBanksOrActive(t, banks, idx) })
}

func (e *env) pcrExtend(c *cli.Context) error {
	pcr, data := c.Int("pcr"), c.String("data")
	ds, err := tpm.ExtendRequest{PCR: pcr, Data: data, Digest: c.String("digest")}.Parse()
	if err != nil {
		return err
	}
	var in *os.File
	if data != "" {
		if in, err = fsys.OpenInput(data); err != nil {
			return err
		}
		defer in.Close()
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		if in != nil {
			banks, err := tpm.ActiveBanks(t)
			if err != nil {
				return err
			}
			if ds, err = tpm.ExtendData(t, pcr, banks, in); err != nil {
				return err
			}
		} else if err := tpm.Extend(t, pcr, ds); err != nil {
			return err
		}
		return e.report(c, map[string]any{"pcr": pcr, "digests": ds}, ds.ExtendedText(pcr))
	})
}

func (e *env) pcrCompare(c *cli.Context) error {
	var sets [2]*tpm.Expected
	for i, f := range c.Args().Slice() {
		var err error
		if sets[i], err = fsys.ReadInput(tpm.PCRValuesInput, f, tpm.ParseExpected); err != nil {
			return err
		}
	}
	cmp := tpm.ComparePCRs(&sets[0].PCRs, &sets[1].PCRs)
	if len(cmp) == 0 {
		return inputErr(c.Args().Get(1), errors.New("no bank in common with "+c.Args().Get(0)))
	}
	return e.verdict(c, cmp, cmp.Text(), cmp.Err())
}
