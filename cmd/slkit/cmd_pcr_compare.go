package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/tpm"
)

func pcrCompareCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare expected PCR values (predict --json, a sealed expectation) with actual ones (pcr read --json); exit 3 if any differs",
		ArgsUsage: "EXPECTED ACTUAL",
		Description: "Both files are in the shape of `slkit pcr read --json` (`slkit predict --json` adds events,\n" +
			"which are ignored). Every PCR of EXPECTED is compared in each bank ACTUAL has; banks ACTUAL lacks\n" +
			"are skipped (a prediction covers banks the TPM may not have active).",
		Flags:  []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error { return pcrCompare(e, c) },
	}
}

func pcrCompare(e *env, c *cli.Context) error {
	if err := needArgs(c, 2, 2, "EXPECTED ACTUAL"); err != nil {
		return err
	}
	var sets [2]tpm.Expected
	for i, f := range c.Args().Slice() {
		b, err := readInput(f, inPCRValues)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &sets[i]); err != nil {
			return inputError{f, err}
		}
	}
	cmp := tpm.ComparePCRs(&sets[0].PCRs, &sets[1].PCRs)
	if len(cmp) == 0 {
		return inputError{c.Args().Get(1), errors.New("no bank in common with " + c.Args().Get(0))}
	}
	if c.Bool("json") {
		if err := e.writeJSON(cmp); err != nil {
			return err
		}
	} else {
		fmt.Fprint(e.stdout, cmp.Text())
	}
	return cmp.Err()
}
