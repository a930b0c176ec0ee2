package main

import (
	"fmt"
	"strings"

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
	return readEventLog(c.Args().First())
}

// readEventLog reads and parses the event log file name.
func readEventLog(name string) (*tpm.EventLog, error) {
	b, err := readInput(name)
	if err != nil {
		return nil, err
	}
	l, err := tpm.ParseEventLog(b)
	if err != nil {
		return nil, inputError{name, err}
	}
	return l, nil
}

func eventlogShow(e *env, c *cli.Context) error {
	l, err := loadEventLog(c)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return e.writeJSON(l)
	}
	fmt.Fprintf(e.stdout, "format %s, banks %s, %d events\n", l.Format, algList(l.Algs()), len(l.Events))
	for _, ev := range l.Events {
		d := ev.Digests[l.Algs()[len(l.Algs())-1]]
		fmt.Fprintf(e.stdout, "%4d  PCR %2d  %-34s %s  %s\n", ev.Index, ev.PCR, ev.Type, d.Short(), clip(ev.Description(), 60))
	}
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
		if c.Bool("json") {
			return e.writeJSON(p)
		}
		printPCRs(e, p)
		return nil
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
	if c.Bool("json") {
		out := struct {
			Banks map[tpm.Alg]map[int]tpm.Digest `json:"banks"`
			*tpm.LogVerification
			Verified bool `json:"verified"`
		}{v.Replayed.Banks, v, v.OK()}
		if err := e.writeJSON(out); err != nil {
			return err
		}
	} else {
		printPCRs(e, v.Replayed)
		for _, a := range v.SkippedBanks {
			fmt.Fprintf(e.stdout, "bank %s of the log is not active in the TPM: not compared\n", a)
		}
		if v.OK() {
			fmt.Fprintln(e.stdout, "event log matches the TPM")
		}
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
		return err
	}
	_, err = e.stdout.Write(append(b, '\n'))
	return err
}

func algList(as []tpm.Alg) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
