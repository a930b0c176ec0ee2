package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// maxDRTMLog bounds the DRTM log `drtm leave` reads: the emulated DCE
// reserves 64 KiB for it, a hardware DCE about as much.
const maxDRTMLog = 1 << 20

// inDRTMLog is the DRTM log `drtm leave` extends.
var inDRTMLog = inputKind{what: "DRTM log", max: maxDRTMLog}

func drtmLeaveCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "leave",
		Usage: "in the launched OS: leave the dynamic launch before handing over (nothing sealed to it unseals until the next launch)",
		Description: "Extends PCR 17 and then PCR 18, in every active bank, with the event \"" + slaunch.DescLeave + "\"\n" +
			"(type 0x502, the hash of those bytes), appends both events to the launch's DRTM log and\n" +
			"writes the result to --out (the handed-over log is left as it is), checks that it replays\n" +
			"to PCR 17/18, and tells the emulated DCE on the host channel, which gives the launch's\n" +
			"locality up and allows one more DCE event (for the pre-launch environment this OS kexecs\n" +
			"into). Exit 3 if the log does not replay after the leave, 2 if the TPM or the host failed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log", Value: launch.DRTMTargetLogPath, Usage: "the launch's DRTM log `FILE`, as handed over"},
			&cli.StringFlag{Name: "out", Value: slaunch.LeftLogPath, Usage: "write the log with the leave events to `FILE`"},
			&cli.StringFlag{Name: "host-channel", Value: slaunch.DefaultHostChannel, Usage: "the rig's host channel, a serial `DEV` or a unix socket"},
		},
		Action: func(c *cli.Context) error { return drtmLeave(e, c) },
	}
}

// drtmLeave is `slkit drtm leave`: slaunch.Leave, then the log to --out
// (also when only the host's part failed: it describes what the TPM holds).
func drtmLeave(e *env, c *cli.Context) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	name, out := c.String("log"), c.String("out")
	b, err := readInput(name, inDRTMLog)
	if err != nil {
		return err
	}
	t, err := e.openTPM(c)
	if err != nil {
		return err
	}
	defer t.Close()
	host := &lazyHost{path: c.String("host-channel")}
	defer host.Close()
	left, err := slaunch.Leave(t, b, host)
	if errors.Is(err, slaunch.ErrMalformed) {
		return inputError{name, err}
	}
	if left != nil && left.Log != nil {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if werr := fsys.WriteFile(fsys.OS{}, out, left.Log, 0o644); werr != nil {
			return errors.Join(err, werr)
		}
	}
	if err != nil {
		return err
	}
	banks := slices.Sorted(maps.Keys(left.Events[0].Digests))
	fmt.Fprintf(e.stdout, "left the dynamic launch: PCR 17 and 18 extended with %q (banks %s); DRTM log with the leave events: %s; "+
		"nothing sealed to this launch unseals until the next dynamic launch\n", slaunch.DescLeave, tpm.AlgList(banks), out)
	return nil
}

// lazyHost opens the host channel only when Leave reaches its last step,
// so that the PCRs are extended even when there is no host to tell.
type lazyHost struct {
	path string
	c    io.Closer
}

func (h *lazyHost) DCELeave() error {
	client, c, err := slaunch.OpenHostChannel(h.path, slaunch.DefaultHostTimeout)
	if err != nil {
		return err
	}
	h.c = c
	return client.DCELeave()
}

func (h *lazyHost) Close() {
	if h.c != nil {
		h.c.Close()
	}
}
