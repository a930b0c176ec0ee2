package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
)

// inspect reads the journal and state the cut left (host side): both must
// parse and verify; it classifies the cut (the variable's side is
// settled by closeOpen at the next boot) and, when every entry is done,
// queues the next generation.
func (pc *powerCut) inspect(t *testing.T, tr *trial) {
	t.Helper()
	e, ctx := pc.r.e, context.Background()
	dir := e.Path(fmt.Sprintf("cut-%d", len(pc.trials)))
	os.MkdirAll(dir, 0o755)
	for _, f := range []string{"journal", "journal.state"} {
		if b, err := qemu.ReadExt4File(ctx, pc.r.disk, "/"+f); err == nil {
			rigtest.MustWrite(t, filepath.Join(dir, f), b)
		}
	}
	l := e.RunExit("efi", "queue", "list", "--json", "--journal", filepath.Join(dir, "journal"), "--pub", e.Path("efi.pub"), "--anchor", "none")
	var listing struct {
		Committed bool `json:"committed"`
		Entries   []struct {
			Var    string `json:"var"`
			Status string `json:"status"`
		} `json:"entries"`
	}
	if l.Code != 0 || json.Unmarshal([]byte(l.Stdout), &listing) != nil {
		t.Errorf("cut %d: the journal or its state does not verify after the cut: exit %d %s", len(pc.trials), l.Code, l.Stderr)
		return
	}
	pc.statuses = nil
	attempting, done := false, 0
	for _, x := range listing.Entries {
		pc.statuses = append(pc.statuses, x.Status)
		tr.statuses = append(tr.statuses, x.Status)
		attempting = attempting || x.Status == "attempting"
		if x.Status == "done" {
			done++
		}
	}
	names, err := qemu.ListExt4Dir(ctx, pc.r.disk, "/")
	if err != nil {
		t.Fatal(err)
	}
	temp := false
	for _, n := range names {
		temp = temp || strings.HasPrefix(n, ".journal.state.tmp-")
	}
	switch {
	case tr.point == kpReboot:
	case temp:
		tr.point = kpStateUpdate
	case done == len(listing.Entries):
		tr.point = kpAfterCommit
	case attempting:
		tr.point = kpDuringWrite // or kpBetween: closeOpen tells by the variable
	default:
		tr.point = kpBeforeWrites
	}
	pc.open = tr
	if done == len(listing.Entries) {
		// Committed (the next boot's firmware will show whether right):
		// the next boot gets the next generation to commit.
		pc.queue(t)
	}
}

// closeOpen checks the last cut against the variables the firmware shows
// at this boot's start (the pre-launch environment's snapshot, before its
// commit): per entry the old value when pending, the new when done,
// either when it was being written; the append never twice.
func (pc *powerCut) closeOpen(t *testing.T, b *rigtest.Boot) {
	t.Helper()
	tr := pc.open
	if tr == nil {
		return
	}
	pc.open = nil
	envs := environments(b)
	if len(envs) == 0 {
		t.Fatalf("no environment booted after cut %d\n%s", len(pc.trials), b.Tail(30))
	}
	vars := snapshot(envs[0])
	g := pc.gens[tr.gen-1]
	order := append(append([]string{}, cutVars...), cutAppend)
	if g.reboot {
		order = append(order, bootNext)
	}
	tr.invariant = true
	all := len(tr.statuses) == len(order)
	for i, v := range order {
		st := "pending"
		if i < len(tr.statuses) {
			st = tr.statuses[i]
		}
		all = all && st == "done"
		got := vars[v]
		ok := false
		switch st {
		case "done":
			ok = got == g.new[v]
		case "attempting":
			ok = got == g.old[v] || got == g.new[v]
			if got == g.new[v] && tr.point == kpDuringWrite {
				tr.point = kpBetween
			}
		default:
			ok = got == g.old[v]
		}
		if !ok {
			tr.invariant = false
			tr.why += fmt.Sprintf("%s (%s) holds %q, old %q, new %q; ", v, st, got, g.old[v], g.new[v])
		}
	}
	if !tr.invariant {
		t.Errorf("after cut %d (%s): %s", len(pc.trials), tr.point, tr.why)
	}
	if all {
		pc.completed(t, g, vars)
	}
}

// completed checks a generation's final values (as the firmware shows
// them) and marks its cuts recovered.
func (pc *powerCut) completed(t *testing.T, g *cutGen, vars map[string]string) {
	t.Helper()
	ok := true
	for v, want := range g.new {
		if vars[v] != want {
			ok = false
			t.Errorf("generation %d committed, but %s holds %q, want %q", g.n, v, vars[v], want)
		}
	}
	for _, tr := range pc.trials {
		if tr.gen == g.n {
			tr.recovered = ok
		}
	}
}

// snapshot is the pre-launch environment's `efi vars list --json`.
func snapshot(e seedEnv) map[string]string {
	var vs []struct {
		Name string `json:"name"`
		GUID string `json:"guid"`
		Data string `json:"data"`
	}
	json.Unmarshal([]byte(e.output("efi vars list --json")), &vs)
	out := map[string]string{}
	for _, v := range vs {
		out[v.Name+"-"+v.GUID] = v.Data
	}
	return out
}

// report prints the counts per kill point and fails unless every cut
// recovered and every invariant held.
func (pc *powerCut) report(t *testing.T) {
	type count struct{ trials, recovered, held int }
	counts := map[string]*count{}
	for _, kp := range killPoints {
		counts[kp] = &count{}
	}
	for i, tr := range pc.trials {
		c := counts[tr.point]
		if c == nil { // the cut was not classified: its check failed first
			c = &count{}
			counts[tr.point] = c
		}
		c.trials++
		if tr.recovered {
			c.recovered++
		}
		if tr.invariant {
			c.held++
		}
		if !tr.recovered || !tr.invariant {
			t.Errorf("cut %d (%s, generation %d): recovered %v, invariant held %v %s", i+1, tr.point, tr.gen, tr.recovered, tr.invariant, tr.why)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-34s %7s %10s %15s\n", "kill point", "trials", "recovered", "invariant held")
	for _, kp := range killPoints {
		c := counts[kp]
		fmt.Fprintf(&sb, "%-34s %7d %10d %15d\n", kp, c.trials, c.recovered, c.held)
	}
	t.Logf("power cuts: %d, generations committed: %d\n%s", len(pc.trials), len(pc.gens), sb.String())
	fmt.Printf("power cuts (%d):\n%s", len(pc.trials), sb.String())
}
