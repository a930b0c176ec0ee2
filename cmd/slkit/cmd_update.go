package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/clikit"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/update"
)

func updateCommand(e *env) *cli.Command {
	sealedFlag := &cli.StringSliceFlag{Name: "sealed", Required: true, Usage: "sealed `FILE` of a secret to carry across the update, replaced atomically (repeatable; required)"}
	return clikit.Described("Queue the changes with `slkit efi queue`, then `slkit update prepare`; the pre-launch\n"+
		"environment commits them (`slkit launch --efi-journal ... --update-counter ...`), rebooting\n"+
		"through the firmware when a change needs it; after the post-update launch run\n"+
		"`slkit update finish`. See efi/README.md, \"Sealing across an update\".",
		clikit.Group("update", "carry sealed secrets across a firmware-variable update: prepare (launched OS) and finish (after the post-update launch)",
			clikit.Cmd("prepare", "check the queued journal and seal each secret a second time for the next launch (an update window for firmware PCRs)",
				clikit.NoArgs(e.updatePrepare), append(append(journalFlags(), sealedFlag,
					&cli.StringFlag{Name: "pub", Usage: "verify the journal's signature with this public key `FILE` (recommended: the pre-launch environment refuses a journal that does not verify)"},
					&cli.StringFlag{Name: "via", Value: string(update.ViaReboot), Usage: "how the next launch is reached: reboot (firmware PCRs 0-7 are measured anew) or kexec (back into the pre-launch environment)"},
					&cli.StringFlag{Name: "next-policy", Usage: "predict the next launch: signed launch policy `FILE` of the pre-launch environment (e.g. handed over with `launch --handover`)"},
					&cli.StringFlag{Name: "next-entry", Usage: "the next launch's policy entry `NAME` (default: the first)"},
					&cli.StringFlag{Name: "relaunch-policy", Usage: "--via kexec: the signed policy `FILE` this OS relaunches the pre-launch environment with (`slkit launch --policy FILE`)"},
					&cli.StringFlag{Name: "relaunch-entry", Usage: "--via kexec: its entry `NAME` (default: the first)"},
					&cli.StringFlag{Name: "next-root", Usage: "read the next launch's kernel and initrd at the policy's paths under `DIR` (needed for a file sealed in a bank other than sha256: a policy pins its images by sha256 only)"},
					&cli.StringFlag{Name: "relaunch-root", Usage: "--via kexec: the same for the relaunch's images (`DIR`, as `slkit launch --root` reads them)"},
					&cli.StringFlag{Name: "policy-key", Usage: "public key `FILE` the launch policies verify under (required with --next-policy or --relaunch-policy)"},
					&cli.StringFlag{Name: "start", Usage: "--via reboot: PCR values before the next boot's launch, JSON as `slkit pcr read --json` prints (default: the firmware event log's, replayed: what the firmware and the EFI stub measure before the pre-launch stage)"},
					&cli.StringFlag{Name: "next-pcrs", Usage: "seal to these predicted values instead (JSON of `slkit predict --json`)"},
					&cli.StringFlag{Name: "counter", Value: fmt.Sprintf("%#08x", tpm.DefaultCounterIndex), Usage: "update-window NV counter `INDEX` (the pre-launch environment's `slkit launch --update-counter` defines it)"},
					&cli.IntFlag{Name: "launches", Value: 1, Usage: "the window lasts this many launches (1-16)"},
					jsonFlag), append(pinFlags, bootPredictFlags()...)...)...),
			clikit.Cmd("finish", "after the post-update launch: reseal each secret to the current PCR values (the next launch closes the update window)",
				clikit.NoArgs(e.updateFinish), append([]cli.Flag{sealedFlag,
					&cli.StringSliceFlag{Name: "eventlog", Usage: "current event log(s) whose events are recorded to explain later refusals (default: the firmware log, if readable)"},
					&cli.BoolFlag{Name: "force", Usage: "reseal although the update object does not unseal yet (abandons a prepared update)"},
					jsonFlag}, pinFlags...)...),
			clikit.Cmd("status", "tell which object of each sealed file unseals now, and the update window's state (the secret is not printed)",
				clikit.NoArgs(e.updateStatus), append([]cli.Flag{sealedFlag,
					&cli.StringSliceFlag{Name: "eventlog", Usage: "current event log(s) to explain a refusal (default: the firmware log, if readable)"},
					jsonFlag}, pinFlags...)...)))
}

func (e *env) updatePrepare(c *cli.Context) error {
	jp, sp, err := journalPaths(c)
	if err != nil {
		return err
	}
	via, err := update.ParseVia(c.String("via"))
	if err != nil {
		return usage(err)
	}
	idx, err := parseCounter(c, "counter")
	if err != nil {
		return err
	}
	if n := c.Int("launches"); n < 1 || n > update.MaxLaunches {
		return usage(fmt.Errorf("--launches %d: want 1 to %d", n, update.MaxLaunches))
	}
	var pub []byte
	if c.IsSet("pub") {
		if pub, err = loadJournalKey(e, c.String("pub"), journal.ParsePublicKey); err != nil {
			return err
		}
	}
	in, err := e.readSealedInputs(c, true, false)
	if err != nil {
		return err
	}
	fw, err := firmwarePrediction(c, via, jp, sp, pub)
	if err != nil {
		return err
	}
	next, nextWhat, err := nextLaunch(c, via, fw)
	if err != nil {
		return err
	}
	opts := append([]update.Option{update.WithCounter(idx), update.WithLaunches(c.Int("launches")), update.WithPIN(in.pin)}, next...)
	u := update.Update{Journal: jp, State: sp, Pub: pub, Via: via, Files: in.files, Firmware: fw, FirmwareLog: c.String("firmware-log")}
	return e.withTPM(c, func(t *tpm.Conn) error {
		var err error
		if u.JournalOptions, err = (&update.JournalAnchorFlag{Index: c.String("anchor")}).Options(t); err != nil {
			return err
		}
		rep, err := update.PrepareUpdate(t, fsys.OS{}, u, opts...)
		if errors.Is(err, launch.ErrNeedImage) {
			return fmt.Errorf("%w (give the images with --next-root or --relaunch-root)", err)
		}
		if err != nil {
			return err
		}
		return e.report(c, rep, rep.Text(jp, nextWhat))
	})
}

func (e *env) updateFinish(c *cli.Context) error {
	in, err := e.readSealedInputs(c, true, true)
	if err != nil {
		return err
	}
	return reportTPM(e, c, func(t *tpm.Conn) (update.FinishReport, error) {
		done, err := update.FinishFiles(t, fsys.OS{}, in.files, update.WithPIN(in.pin), update.WithEventLogs(in.logs...), update.WithForce(c.Bool("force")))
		return update.FinishReport{Files: done}, err
	})
}

func (e *env) updateStatus(c *cli.Context) error {
	in, err := e.readSealedInputs(c, false, true)
	if err != nil {
		return err
	}
	return e.withTPM(c, func(t *tpm.Conn) error {
		reps, err := update.Statuses(t, in.files, update.WithPIN(in.pin), update.WithEventLogs(in.logs...), update.WithLogUnavailable(in.logProblem))
		if reps == nil {
			return err
		}
		return e.verdict(c, reps, update.StatusText(reps), err)
	})
}
