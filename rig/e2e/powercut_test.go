package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
)

// Power-cut test knobs: `make soak` runs 50 trials; a seed repeats a run.
const (
	envPowerCutTrials = "SLKIT_POWERCUT_TRIALS"
	envPowerCutSeed   = "SLKIT_POWERCUT_SEED"
)

// Kill points, classified after each cut from what the disk and the next
// boot's firmware show.
const (
	kpBeforeWrites = "before the first variable write"
	kpDuringWrite  = "during a variable write"
	kpBetween      = "between variable writes"
	kpStateUpdate  = "during the journal state update"
	kpAfterCommit  = "after the commit"
	kpReboot       = "during the firmware reboot"
)

var killPoints = []string{kpBeforeWrites, kpDuringWrite, kpBetween, kpStateUpdate, kpAfterCommit, kpReboot}

// cutGen is one generation of queued changes: what each variable holds
// before and after it (hex; "" absent), and its append's token.
type cutGen struct {
	n        int
	old, new map[string]string
	reboot   bool
}

// trial is one power cut.
type trial struct {
	gen   int
	point string
	// statuses are the state file's entry statuses after the cut.
	statuses  []string
	invariant bool // the next boot's firmware showed old or new values as the state said, the append at most once
	recovered bool // the generation's commit later completed with exactly the new values
	why       string
}

// TestPowerCutDuringCommit cuts the power (QEMU killed by its PID with
// SIGKILL) at random points of the pre-launch environment's commit of a
// real journal on OVMF — between variable writes, during a variable
// write, during the journal state update, during the firmware reboot that
// BootNext asks for — and boots again with the same VARS file, disk and
// TPM. Trials are chained: each boot recovers the previous cut (the
// firmware recovers its variable store, the commit resumes from the state
// file) and is itself cut. The host queues the next generation (three
// sets, an append with a unique token, every other generation a BootNext)
// when one is done. After every cut:
//
//   - the journal still verifies and the state file parses (no torn
//     write; the pre-launch environment never sees a corrupt one);
//   - the variables, as the next boot's firmware shows them before its
//     commit, hold for each entry the old value (pending), the new one
//     (done), or either (the entry being written), and the append never
//     twice;
//   - the generation is later committed completely: every variable holds
//     the new value, the append exactly once.
//
// A last boot without a cut launches the target: the secret sealed to
// PCR 17+18 still unseals. SLKIT_POWERCUT_TRIALS sets the number of cuts
// (default 10; `make soak` 50), SLKIT_POWERCUT_SEED repeats a run.
func TestPowerCutDuringCommit(t *testing.T) {
	t.Parallel()
	trials := 10
	if s := os.Getenv(envPowerCutTrials); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", envPowerCutTrials, s)
		}
		trials = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(envPowerCutSeed); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", envPowerCutSeed, s)
		}
		seed = n
	}
	t.Logf("power-cut seed %d (%s=%d repeats this run), %d cuts", seed, envPowerCutSeed, seed, trials)
	r := setupSeed(t, newSeedDemo(t), func(c *seedConfig) {
		c.hostKey, c.snapshot, c.launchFlags = true, true, "--efi-tries 255"
	})
	pc := &powerCut{r: r, rng: rand.New(rand.NewPCG(seed, 0x706f776572637574)), window: time.Second}
	pc.queue(t)
	for len(pc.trials) < trials {
		pc.cutBoot(t)
		if t.Failed() {
			break
		}
	}
	pc.finalBoot(t)
	pc.report(t)
}

type powerCut struct {
	r      *seedRig
	rng    *rand.Rand
	window time.Duration // how long the last commit seen took (cuts land in 0–130% of it)
	gens   []*cutGen
	trials []*trial
	// open is the last cut's trial, until the next boot's firmware shows
	// the variables.
	open *trial
	// statuses are the current generation's entry statuses, as the state
	// file said after the last cut (nil: none seen yet).
	statuses []string
}

func (pc *powerCut) gen() *cutGen { return pc.gens[len(pc.gens)-1] }

var (
	cutVars   = []string{"SlkitCutA-" + seedGUID, "SlkitCutB-" + seedGUID, "SlkitCutC-" + seedGUID}
	cutAppend = "SlkitCutLog-" + seedGUID
)

// queue queues the next generation on the host, with the plain key,
// against the disk's journal and state, and writes the journal back.
func (pc *powerCut) queue(t *testing.T) {
	t.Helper()
	e, ctx := pc.r.e, context.Background()
	g := &cutGen{n: len(pc.gens) + 1, old: map[string]string{}, new: map[string]string{}, reboot: len(pc.gens)%2 == 1}
	if len(pc.gens) > 0 {
		for k, v := range pc.gen().new {
			g.old[k], g.new[k] = v, v
		}
	}
	dir := e.Path(fmt.Sprintf("queue-%d", g.n))
	os.MkdirAll(dir, 0o755)
	for _, f := range []string{"journal", "journal.state"} {
		if b, err := qemu.ReadExt4File(ctx, pc.r.disk, "/"+f); err == nil {
			rigtest.MustWrite(t, filepath.Join(dir, f), b)
		}
	}
	// The host stands in for the launched OS with no TPM of its own: the
	// generations are numbered from the state file (--anchor none); the
	// pre-launch environment still checks them against its TPM anchor.
	q := func(args ...string) {
		e.Run(append(append([]string{"efi", "queue"}, args...), "--key", e.Path("efi.key"), "--journal", filepath.Join(dir, "journal"), "--anchor", "none")...)
	}
	for i, v := range cutVars {
		val := fmt.Sprintf("%02x%02x", g.n, 0xa+i)
		q("set", v, "--hex", val)
		g.new[v] = val
	}
	token := fmt.Sprintf("%02xee", g.n)
	if old := g.old[cutAppend]; old == "" {
		q("append", cutAppend, "--hex", token, "--expect-absent")
	} else {
		q("append", cutAppend, "--hex", token, "--expect-hex", old)
	}
	g.new[cutAppend] = g.old[cutAppend] + token
	if g.reboot {
		q("set", bootNext, "--u16", fmt.Sprint(g.n%2))
		g.new[bootNext] = fmt.Sprintf("%02x00", g.n%2) // little-endian
	}
	if err := qemu.WriteExt4File(ctx, pc.r.disk, "/journal", rigtest.MustRead(t, filepath.Join(dir, "journal"))); err != nil {
		t.Fatal(err)
	}
	pc.gens = append(pc.gens, g)
	pc.statuses = nil
	t.Logf("generation %d queued: %v", g.n, g.new)
}

// cutBoot boots, cuts the power at a random point of the commit (or of
// the firmware reboot BootNext asks for), checks the previous cut against
// the firmware's view at this boot's start, and records this cut. A boot
// that is not cut (its commit had nothing left to do, so there was no
// reboot to cut) launches the target, which must unseal the secret.
func (pc *powerCut) cutBoot(t *testing.T) {
	t.Helper()
	g := pc.gen()
	bootNextPending := g.reboot && (len(pc.statuses) == 0 || pc.statuses[len(pc.statuses)-1] != "done")
	atReboot := bootNextPending && pc.rng.IntN(2) == 0
	delay := time.Duration(pc.rng.Int64N(int64(pc.window * 13 / 10)))
	var mu sync.Mutex
	var timer *time.Timer
	var point string
	var commitStart time.Duration
	armed := true
	watch := func(line string, at time.Duration, cut func()) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case !armed:
		case strings.Contains(line, "slkit: phase=efi-commit") && !atReboot:
			commitStart, point = at, "commit"
			timer = time.AfterFunc(delay, cut)
			armed = false
		case strings.Contains(line, "slkit: phase=reboot") && atReboot:
			delay = time.Duration(pc.rng.Int64N(int64(20 * time.Second)))
			point = kpReboot
			timer = time.AfterFunc(delay, cut)
			armed = false
		}
	}
	b := pc.r.boot(10*time.Minute, rigtest.WithWatch(watch))
	mu.Lock()
	if timer != nil {
		timer.Stop()
	}
	mu.Unlock()
	pc.closeOpen(t, b)
	env := environments(b)[0]
	for _, end := range []string{"slkit: phase=verify-policy", "slkit: phase=reboot"} {
		if at := env.at(end); at > commitStart && commitStart > 0 {
			pc.window = at - commitStart
			break
		}
	}
	if b.Err == nil {
		pc.uncut(t, b)
		return
	}
	tr := &trial{gen: g.n, point: point}
	pc.trials = append(pc.trials, tr)
	pc.inspect(t, tr)
	t.Logf("cut %d (generation %d) %s after %v: %s", len(pc.trials), g.n, tr.point, delay.Round(time.Millisecond), strings.Join(tr.statuses, ","))
}

// uncut handles a boot that went through: the commit is complete, the
// target launched and unsealed the secret, and the variables it read are
// the generation's new values; the next generation is queued.
func (pc *powerCut) uncut(t *testing.T, b *rigtest.Boot) {
	t.Helper()
	b.MustSucceed(t)
	ls := targetLaunches(b)
	if len(ls) != 1 || len(ls[0].fingerprints) == 0 || ls[0].fingerprints[0] != pc.r.secretFP {
		t.Fatalf("a boot without a cut: the secret did not unseal\n%s", b.Tail(40))
	}
	pc.completed(t, pc.gen(), ls[0].vars)
	pc.queue(t)
}

// finalBoot boots without a cut: the last generation's commit completes,
// the target launches, the secret still unseals and the variables hold the
// model's values.
func (pc *powerCut) finalBoot(t *testing.T) {
	t.Helper()
	b := pc.r.boot(10 * time.Minute)
	pc.closeOpen(t, b)
	b.MustSucceed(t)
	ls := targetLaunches(b)
	if len(ls) != 1 || len(ls[0].fingerprints) == 0 || ls[0].fingerprints[0] != pc.r.secretFP {
		t.Fatalf("the secret did not unseal after the power cuts\n%s", b.Tail(40))
	}
	pc.completed(t, pc.gen(), ls[0].vars)
}
