package rigtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slkit/slkit/rig/qemu"
)

// DefaultTimeout bounds one Boot: a SeaBIOS boot with a kexec takes 10-25 s
// here under TCG, an OVMF one about a minute, more on a loaded host.
const DefaultTimeout = 4 * time.Minute

// Boot is one run of the VM, from QEMU's start to its exit.
type Boot struct {
	// Console is every line the guest printed on ttyS0.
	Console []string
	// LineTimes are the host times, from QEMU's start, at which each
	// Console line arrived.
	LineTimes []time.Duration
	// Results are the `slkit: result=` lines in order: the pre-launch
	// environment reports only when it fails (on success it kexecs), the
	// target reports its own.
	Results []qemu.Result
	// Phases are the phases the rig saw, timed from QEMU's start.
	Phases []qemu.Phase
	// DCE is what the rig's DCE service decided, in order (qemu.DCE):
	// armings, DCE events, localities, leaves and refused requests.
	DCE []string
	// Elapsed is QEMU's start to its exit.
	Elapsed time.Duration
	// Err is why the VM did not finish (timeout, QEMU error), or nil.
	Err error
	// Dir holds console.log and qemu.stderr.
	Dir string
	// Stopped: the rig ended the boot at WithStopAt's line.
	Stopped bool
}

type bootConfig struct {
	timeout time.Duration
	rig     []qemu.RigOption
	vm      []qemu.VMOption
	stopAt  *regexp.Regexp
	grace   time.Duration
	watch   func(line string, at time.Duration, cut func())
}

// WithWatch calls f with every console line as it arrives and its time
// from QEMU's start; cut (safe to call from any goroutine, any number of
// times; it returns at once) cuts the guest's power: QEMU is killed by its
// PID with SIGKILL (qemu.VM.Kill), and the Boot ends with the VM's error.
func WithWatch(f func(line string, at time.Duration, cut func())) BootOption {
	return func(c *bootConfig) { c.watch = f }
}

// BootOption configures Env.Boot.
type BootOption func(*bootConfig)

// WithTimeout bounds the boot (default DefaultTimeout).
func WithTimeout(d time.Duration) BootOption { return func(c *bootConfig) { c.timeout = d } }

// WithStopAt ends the boot grace after the first console line matching
// pattern (a firmware that refused the boot image goes on to other boot
// options and then waits in its menu): Boot.Stopped is set, and the
// console up to then is the boot's.
func WithStopAt(pattern string, grace time.Duration) BootOption {
	return func(c *bootConfig) { c.stopAt, c.grace = regexp.MustCompile(pattern), grace }
}

// WithRig passes options to qemu.StartRig (e.g. qemu.WithDirectTPM()).
func WithRig(opts ...qemu.RigOption) BootOption {
	return func(c *bootConfig) { c.rig = append(c.rig, opts...) }
}

// WithVM passes options to the VM (e.g. qemu.WithOVMF, qemu.WithReboot).
func WithVM(opts ...qemu.VMOption) BootOption {
	return func(c *bootConfig) { c.vm = append(c.vm, opts...) }
}

// Boot boots the cached kernel with initrd and the kernel command line
// appendArgs on the rig (swtpm on TPMState behind the control-channel mux,
// the host channel on ttyS1) and waits until QEMU exits. The test fails if
// the rig cannot start; a guest that fails or hangs is reported in the
// Boot (Err, Results) for the test to judge.
func (e *Env) Boot(initrd, appendArgs string, opts ...BootOption) *Boot {
	e.T.Helper()
	return e.boot(filepath.Base(initrd), []qemu.VMOption{qemu.WithKernel(e.Kernel.Path), qemu.WithInitrd(initrd), qemu.WithAppend(appendArgs)}, opts)
}

// BootESP boots OVMF from a FAT ESP holding uki as \EFI\BOOT\BOOTX64.EFI
// (qemu.MakeESP, made in the boot's directory): the firmware loads, checks
// and measures it, with no -kernel. Give the firmware with
// WithVM(qemu.WithOVMF(...)).
func (e *Env) BootESP(uki string, opts ...BootOption) *Boot {
	e.T.Helper()
	esp := filepath.Join(e.Dir, "esp-"+filepath.Base(uki)+".img")
	if err := qemu.MakeESP(context.Background(), uki, esp); err != nil {
		e.T.Fatal(err)
	}
	defer os.Remove(esp)
	return e.boot(filepath.Base(uki), []qemu.VMOption{qemu.WithESP(esp)}, opts)
}

func (e *Env) boot(name string, base []qemu.VMOption, opts []BootOption) *Boot {
	e.T.Helper()
	cfg := bootConfig{timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	dir, err := os.MkdirTemp(e.Dir, "boot-")
	if err != nil {
		e.T.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	start := time.Now()
	tr := qemu.NewTracker(start, nil)
	seen := make(chan struct{})
	var once sync.Once
	var timesMu sync.Mutex
	var times []time.Duration
	started := make(chan *qemu.VM, 1)
	var vm *qemu.VM
	var vmOnce sync.Once
	cut := func() {
		// Not here: f runs on the console's reader, which Kill waits for.
		go func() {
			vmOnce.Do(func() { vm = <-started })
			vm.Kill()
		}()
	}
	hook := func(l string, at time.Time) {
		tr.Line(l, at)
		timesMu.Lock()
		times = append(times, at.Sub(start))
		timesMu.Unlock()
		if cfg.stopAt != nil && cfg.stopAt.MatchString(l) {
			once.Do(func() { close(seen) })
		}
		if cfg.watch != nil {
			cfg.watch(l, at.Sub(start), cut)
		}
	}
	vmOpts := append(append(base, qemu.WithLineHook(hook)), cfg.vm...)
	rigOpts := append([]qemu.RigOption{qemu.WithTPMState(e.TPMState), qemu.WithVM(vmOpts...)}, cfg.rig...)
	r, err := qemu.StartRig(ctx, dir, rigOpts...)
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { r.Close() })
	started <- r.VM
	var stopped atomic.Bool
	go func() {
		select {
		case <-seen:
			select {
			case <-time.After(cfg.grace):
				stopped.Store(true)
				r.VM.Close()
			case <-r.VM.Exited():
			}
		case <-r.VM.Exited():
		}
	}()
	werr := r.VM.Wait(ctx)
	r.Close()
	if stopped.Load() {
		werr = nil
	}
	b := &Boot{Console: r.VM.Console().Lines(), Phases: tr.Phases(), Elapsed: time.Since(start), Err: werr, Dir: dir, Stopped: stopped.Load()}
	timesMu.Lock()
	b.LineTimes = append([]time.Duration(nil), times[:min(len(times), len(b.Console))]...)
	timesMu.Unlock()
	if r.DCE != nil {
		b.DCE = r.DCE.Log()
	}
	for _, l := range b.DCE {
		if strings.Contains(l, "REFUSED") {
			e.T.Logf("rig host: %s", l)
		}
	}
	for _, l := range b.Console {
		if r, ok := qemu.ParseResult(l); ok {
			b.Results = append(b.Results, r)
		}
	}
	e.T.Logf("boot %s: %s in %.1fs; console in %s", name, b.Outcome(), b.Elapsed.Seconds(), filepath.Join(dir, "console.log"))
	return b
}

// Last is the last result the guest reported (Reported is false if none).
func (b *Boot) Last() qemu.Result {
	if len(b.Results) == 0 {
		return qemu.Result{}
	}
	return b.Results[len(b.Results)-1]
}

// Outcome describes the boot in a few words.
func (b *Boot) Outcome() string {
	switch err := b.Last().Err(b.Err); {
	case err == nil:
		return "ok"
	case b.Err != nil:
		return "did not finish: " + b.Err.Error()
	default:
		return err.Error()
	}
}

// MustSucceed fails the test (with the console's end) unless the VM
// exited and the last result is ok.
func (b *Boot) MustSucceed(t testing.TB) {
	t.Helper()
	if b.Err != nil || !b.Last().OK {
		t.Fatalf("boot %s\n%s", b.Outcome(), b.Tail(40))
	}
}

// MustFail fails the test unless the VM exited and its last result is a
// failure whose reason contains every one of wants; it returns the reason.
func (b *Boot) MustFail(t testing.TB, wants ...string) string {
	t.Helper()
	l := b.Last()
	if b.Err != nil || !l.Reported || l.OK {
		t.Fatalf("boot %s, want a reported failure\n%s", b.Outcome(), b.Tail(40))
	}
	for _, w := range wants {
		if !strings.Contains(l.Reason, w) {
			t.Errorf("failure reason %q lacks %q", l.Reason, w)
		}
	}
	return l.Reason
}

// Lines returns the console lines containing s.
func (b *Boot) Lines(s string) []string {
	var out []string
	for _, l := range b.Console {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// Between returns the console lines after the first line containing
// from, up to (not including) the next line containing to ("" for the
// end): e.g. the JSON a guest step printed.
func (b *Boot) Between(from, to string) []string {
	var out []string
	in := false
	for _, l := range b.Console {
		switch {
		case !in && strings.Contains(l, from):
			in = true
		case in && to != "" && strings.Contains(l, to):
			return out
		case in:
			out = append(out, l)
		}
	}
	return out
}

// Tail is the last n console lines.
func (b *Boot) Tail(n int) string {
	return strings.Join(b.Console[max(0, len(b.Console)-n):], "\n")
}

// Phase returns the start of the first phase called name after the
// phase called after ("" for the first), and whether it was seen.
func (b *Boot) Phase(name, after string) (time.Duration, bool) {
	seen := after == ""
	for _, p := range b.Phases {
		if !seen {
			seen = p.Name == after
			continue
		}
		if p.Name == name {
			return p.Start, true
		}
	}
	return 0, false
}

// String is a one-line summary with the phase timings.
func (b *Boot) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s in %.1fs:", b.Outcome(), b.Elapsed.Seconds())
	for _, p := range b.Phases {
		fmt.Fprintf(&sb, " %s@%.1fs", p.Name, p.Start.Seconds())
	}
	return sb.String()
}

// Matching returns the console lines containing any of subs, trimmed:
// what the flow said, for a reader of the test log.
func (b *Boot) Matching(subs ...string) []string {
	var out []string
	for _, l := range b.Console {
		if slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(l, s) }) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}
