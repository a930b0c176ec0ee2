package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

func eventlogCommand(e *env) *cli.Command {
	return clikit.Group("eventlog", "show, replay, verify and export TCG event logs (crypto-agile or SHA-1)",
		clikit.ArgsCmd("show", "FILE", "list the events of a log", e.eventlog(func(c *cli.Context, l *tpm.EventLog) error {
			return e.report(c, l, l.Text())
		}), jsonFlag),
		clikit.ArgsCmd("replay", "FILE", "compute the PCR values a log produces (and compare with the TPM)", e.eventlog(e.eventlogReplay),
			&cli.BoolFlag{Name: "against-tpm", Usage: "read the same PCRs from the TPM; exit 3 if any differs"}, jsonFlag),
		clikit.ArgsCmd("export", "FILE", "export a log as JSON or CEL-JSON (as systemd-pcrlock writes)", e.eventlogExport,
			&cli.StringFlag{Name: "format", Value: "json", Usage: "json or cel-json"}),
	)
}

// eventlog is the action f on the event log FILE.
func (e *env) eventlog(f func(*cli.Context, *tpm.EventLog) error) cli.ActionFunc {
	return clikit.NArgs(1, 1, "one event log FILE", func(c *cli.Context) error {
		l, err := fsys.ReadInput(tpm.EventLogInput, c.Args().First(), tpm.ParseEventLog)
		if err != nil {
			return err
		}
		return f(c, l)
	})
}

func (e *env) eventlogReplay(c *cli.Context, l *tpm.EventLog) error {
	if !c.Bool("against-tpm") {
		p, err := l.Replay()
		if err != nil {
			return inputErr(c.Args().First(), err)
		}
		return e.report(c, p, p.Text())
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		v, err := tpm.VerifyEventLog(t, l)
		if err != nil {
			return err
		}
		return e.verdict(c, v, v.Text(), v.Err())
	})
}

func (e *env) eventlogExport(c *cli.Context) error {
	format := c.String("format")
	if format != "json" && format != "cel-json" {
		return usage(fmt.Errorf("--format %q: want json or cel-json", format))
	}
	return e.eventlog(func(c *cli.Context, l *tpm.EventLog) error {
		if format == "json" {
			return e.writeJSON(l)
		}
		b, err := l.MarshalCEL()
		if err != nil {
			return inputErr(c.Args().First(), err)
		}
		_, err = e.stdout.Write(append(b, '\n'))
		return err
	})(c)
}
