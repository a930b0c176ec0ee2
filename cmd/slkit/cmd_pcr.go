package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/tpm"
)

func pcrCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "pcr",
		Usage: "read and extend PCRs",
		Subcommands: []*cli.Command{
			{
				Name:      "read",
				Usage:     "read PCRs (default: 0-23 in every active bank)",
				ArgsUsage: "[PCR...]",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "bank", Usage: "bank to read (repeatable; default: all active banks)"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error { return pcrRead(e, c) },
			},
			{
				Name:  "extend",
				Usage: "extend one PCR in every active bank with one TPM2_PCR_Extend",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "pcr", Required: true, Usage: "PCR index"},
					&cli.StringFlag{Name: "data", Usage: "file whose hash (per bank) is extended"},
					&cli.StringFlag{Name: "digest", Usage: "ALG:HEX digest to extend (that bank only)"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error { return pcrExtend(e, c) },
			},
			pcrCompareCommand(e),
		},
	}
}

func parsePCRArgs(args []string) ([]int, error) {
	if len(args) == 0 {
		all := make([]int, tpm.NumPCRs)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	out, err := tpm.ParsePCRList(strings.Join(args, ","))
	if err != nil {
		return nil, usageError{err}
	}
	return out, nil
}

func pcrRead(e *env, c *cli.Context) error {
	idx, err := parsePCRArgs(c.Args().Slice())
	if err != nil {
		return err
	}
	var banks []tpm.Alg
	for _, b := range c.StringSlice("bank") {
		a, err := tpm.ParseAlg(b)
		if err != nil {
			return usageError{fmt.Errorf("--bank: %w", err)}
		}
		banks = append(banks, a)
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	if len(banks) == 0 {
		if banks, err = tpm.ActiveBanks(t); err != nil {
			return err
		}
	}
	vals, err := tpm.ReadBanks(t, banks, idx)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.writeJSON(vals)
	}
	fmt.Fprint(e.stdout, vals.Text())
	return nil
}

func pcrExtend(e *env, c *cli.Context) error {
	pcr := c.Int("pcr")
	if pcr < 0 || pcr >= tpm.NumPCRs {
		return usageError{fmt.Errorf("--pcr %d: not a PCR index 0-%d", pcr, tpm.NumPCRs-1)}
	}
	data, digest := c.String("data"), c.String("digest")
	if (data == "") == (digest == "") {
		return usageError{fmt.Errorf("pcr extend: give exactly one of --data FILE or --digest ALG:HEX")}
	}
	var ds tpm.Digests
	var err error
	if digest != "" {
		if ds, err = tpm.ParseDigestText(digest); err != nil {
			return usageError{fmt.Errorf("--digest: %w", err)}
		}
	}
	var in *os.File
	if data != "" {
		if in, err = openInput(data); err != nil {
			return err
		}
		defer in.Close()
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
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
	if c.Bool("json") {
		out := map[string]any{"pcr": pcr, "digests": ds}
		return e.writeJSON(out)
	}
	for _, a := range ds.Algs() {
		fmt.Fprintf(e.stdout, "extended PCR %s in %s with %s\n", strconv.Itoa(pcr), a, ds[a])
	}
	return nil
}
