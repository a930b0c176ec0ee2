package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/tpm"
)

func eventlogCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "eventlog",
		Usage: "show, replay, verify and export TCG event logs (crypto-agile or SHA-1)",
		Subcommands: []*cli.Command{
			{
				Name: "show", Usage: "list the events of a log", ArgsUsage: "FILE",
				Flags:  []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error { return eventlogShow(e, c) },
			},
			{
				Name: "replay", Usage: "compute the PCR values a log produces (and compare with the TPM)", ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "against-tpm", Usage: "read the same PCRs from the TPM; exit 3 if any differs"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error { return eventlogReplay(e, c) },
			},
			{
				Name: "export", Usage: "export a log as JSON or CEL-JSON (as systemd-pcrlock writes)", ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Value: "json", Usage: "json or cel-json"},
				},
				Action: func(c *cli.Context) error { return eventlogExport(e, c) },
			},
		},
	}
}

func loadEventLog(c *cli.Context) (*tpm.EventLog, error) {
	if err := needArgs(c, 1, 1, "one event log FILE"); err != nil {
		return nil, err
	}
	return readParsed(c.Args().First(), inEventLog, tpm.ParseEventLog)
}

func eventlogShow(e *env, c *cli.Context) error {
	l, err := loadEventLog(c)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.writeJSON(l)
	}
	fmt.Fprint(e.stdout, l.Text())
	return nil
}

func eventlogReplay(e *env, c *cli.Context) error {
	l, err := loadEventLog(c)
	if err != nil {
		return err
	}
	if !c.Bool("against-tpm") {
		p, err := l.Replay()
		if err != nil {
			return inputError{c.Args().First(), err}
		}
		return e.report(c, p, p.Text())
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	v, err := tpm.VerifyEventLog(t, l)
	if err != nil {
		return err
	}
	if err := e.report(c, v, v.Text()); err != nil {
		return err
	}
	return v.Err()
}

func eventlogExport(e *env, c *cli.Context) error {
	format := c.String("format")
	if format != "json" && format != "cel-json" {
		return usageError{fmt.Errorf("--format %q: want json or cel-json", format)}
	}
	l, err := loadEventLog(c)
	if err != nil {
		return err
	}
	if format == "json" {
		return e.writeJSON(l)
	}
	b, err := l.MarshalCEL()
	if err != nil {
		return inputError{c.Args().First(), err}
	}
	_, err = e.stdout.Write(append(b, '\n'))
	return err
}
