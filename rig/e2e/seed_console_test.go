package e2e_test

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/slkit/slkit/rig/rigtest"
	"github.com/slkit/slkit/tpm"
)

// seedLaunch is what one launch of the seed flow's target printed on the
// console.
type seedLaunch struct {
	// lines are the target's console lines, from its init to the next
	// environment's; times their arrival from QEMU's start.
	lines []string
	times []time.Duration
	// read is its `pcr read --json 1 17 18`.
	read tpm.Expected
	// fingerprints are its `unseal --fingerprint` lines.
	fingerprints []string
	// refused are its "refused, as it must be" lines, in order.
	refused []string
	// vars are the variables `efi vars list --json` showed: NAME-GUID to
	// hex data.
	vars map[string]string
	// job is the job it ran ("" for none).
	job string
}

// seedEnv is one environment (a kernel's init) of a run: the pre-launch
// environment or the target.
type seedEnv struct {
	lines []string
	times []time.Duration
}

// environments splits a run's console at each init (`slkit: phase=init`):
// the pre-launch environment and each target, booted by the firmware or
// by kexec, in order.
func environments(b *rigtest.Boot) []seedEnv {
	var out []seedEnv
	for i, l := range b.Console {
		if strings.Contains(l, "slkit: phase=init") {
			out = append(out, seedEnv{})
		}
		if len(out) > 0 {
			e := &out[len(out)-1]
			e.lines = append(e.lines, l)
			if i < len(b.LineTimes) {
				e.times = append(e.times, b.LineTimes[i])
			}
		}
	}
	return out
}

func (e seedEnv) isTarget() bool { return e.has("slkit: running slkit drtm verify") }

func (e seedEnv) has(s string) bool { return e.index(s) >= 0 }

func (e seedEnv) index(s string) int {
	for i, l := range e.lines {
		if strings.Contains(l, s) {
			return i
		}
	}
	return -1
}

// count is how many lines contain s.
func (e seedEnv) count(s string) int {
	n := 0
	for _, l := range e.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// output is what the step `slkit CMD…` printed: the lines after its
// running line, up to the next step's.
func (e seedEnv) output(cmd string) string {
	i := e.index("slkit: running slkit " + cmd)
	if i < 0 {
		return ""
	}
	var out []string
	for _, l := range e.lines[i+1:] {
		if strings.Contains(l, "slkit: running") || strings.Contains(l, "slkit: phase=job") {
			break
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// at is the arrival time of the first line containing s (0: none).
func (e seedEnv) at(s string) time.Duration {
	if i := e.index(s); i >= 0 && i < len(e.times) {
		return e.times[i]
	}
	return 0
}

// targetLaunches are the run's target environments, parsed.
func targetLaunches(b *rigtest.Boot) []seedLaunch {
	var out []seedLaunch
	for _, e := range environments(b) {
		if !e.isTarget() {
			continue
		}
		l := seedLaunch{lines: e.lines, times: e.times, vars: map[string]string{}}
		json.Unmarshal([]byte(e.output("pcr read")), &l.read)
		var vs []struct {
			Name string `json:"name"`
			GUID string `json:"guid"`
			Data string `json:"data"`
		}
		json.Unmarshal([]byte(e.output("efi vars list --json")), &vs)
		for _, v := range vs {
			l.vars[v.Name+"-"+v.GUID] = v.Data
		}
		for _, s := range e.lines {
			s = strings.TrimSpace(s)
			switch {
			case rigtest.IsFingerprint(s):
				l.fingerprints = append(l.fingerprints, s)
			case strings.HasPrefix(s, "slkit: refused, as it must be: "):
				l.refused = append(l.refused, strings.TrimPrefix(s, "slkit: refused, as it must be: "))
			case strings.HasPrefix(s, "slkit: job "):
				l.job = strings.Fields(s)[2]
			}
		}
		out = append(out, l)
	}
	return out
}

func (l seedLaunch) env() seedEnv { return seedEnv{lines: l.lines, times: l.times} }
