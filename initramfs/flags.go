package initramfs

import (
	"io"
	"strings"

	"github.com/slkit/slkit/internal/errkind"
)

// BuildFlags is a build asked for in text, as a command line gives it
// (`slkit initramfs build`'s flags): Options checks the values and turns
// them into Build's options, so that a command line only copies its flags
// here. The zero value is not valid: OnFailure and OnSuccess must name an
// action.
type BuildFlags struct {
	// Full builds a full image (WithFull).
	Full bool
	// Policy and PolicyKey are the signed launch policy and its public
	// key to embed (WithPolicy); "" embeds none.
	Policy, PolicyKey string
	// Add are host files to add, each SRC:DST (ParseAdd, WithPayload).
	Add []string
	// Modules are kernel module files to load at boot, in order
	// (WithModule).
	Modules []string
	// Run is the slkit command /init runs, split at white space
	// (SplitRun, WithRun); nil keeps DefaultRun, and a value with no
	// argument is refused.
	Run *string
	// Then are the commands to run after Run, in order, each split at
	// white space (WithThen); an empty one is refused.
	Then []string
	// OnFailure and OnSuccess are what the runtime does when the run
	// fails or every step succeeded: "poweroff" or "reboot"
	// (ParseFailureAction, WithOnFailure, WithOnSuccess).
	OnFailure, OnSuccess string
	// Jobs are job steps, each NAME:ARGS (WithJobStep), in order.
	Jobs []string
	// JobOnSuccess are the jobs' final actions, each NAME:ACTION with
	// ACTION poweroff or reboot (WithJobOnSuccess).
	JobOnSuccess []string
	// JobRequest is the file naming the job to run (WithJobRequest).
	JobRequest string
	// DebugShell lets the runtime start gosh after a failure
	// (WithDebugShell).
	DebugShell bool
	// SlkitBinary is a prebuilt slkit to use (WithSlkitBinary); Source
	// is slkit's source module (WithSource). "" for the defaults.
	SlkitBinary, Source string
	// Log, when not nil, receives the output of go build and mkuimage
	// (WithLog).
	Log io.Writer
}

// badFlag is a bad value in BuildFlags: its text names the flag and the
// value, and it is an ErrInput (the CLI's exit code 1).
func badFlag(format string, a ...any) error { return errkind.Errorf(ErrInput, format, a...) }

// Options checks f and returns Build's options for it, in the order the
// fields are listed (the first bad value is the error, naming its flag:
// `--on-failure "shell": want poweroff or reboot`). Build checks the rest
// (files, job names, a job without a request file).
func (f *BuildFlags) Options() ([]Option, error) {
	action, err := ParseFailureAction(f.OnFailure)
	if err != nil {
		return nil, badFlag("--on-failure %q: want poweroff or reboot", f.OnFailure)
	}
	opts := []Option{WithFull(f.Full), WithOnFailure(action), WithDebugShell(f.DebugShell),
		WithPolicy(f.Policy, f.PolicyKey), WithSlkitBinary(f.SlkitBinary), WithSource(f.Source)}
	if f.Run != nil {
		run := SplitRun(*f.Run)
		if len(run) == 0 {
			return nil, badFlag("--run is empty")
		}
		opts = append(opts, WithRun(run...))
	}
	for _, t := range f.Then {
		then := SplitRun(t)
		if len(then) == 0 {
			return nil, badFlag("--then is empty")
		}
		opts = append(opts, WithThen(then...))
	}
	jobs, err := f.jobOptions()
	if err != nil {
		return nil, err
	}
	opts = append(opts, jobs...)
	for _, spec := range f.Add {
		p, err := ParseAdd(spec)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithPayload(p))
	}
	for _, m := range f.Modules {
		opts = append(opts, WithModule(m))
	}
	if f.Log != nil {
		opts = append(opts, WithLog(f.Log))
	}
	return opts, nil
}

// jobOptions are the options of OnSuccess, JobRequest, Jobs and
// JobOnSuccess (see Job).
func (f *BuildFlags) jobOptions() ([]Option, error) {
	a, err := ParseFailureAction(f.OnSuccess)
	if err != nil {
		return nil, badFlag("--on-success %q: want poweroff or reboot", f.OnSuccess)
	}
	opts := []Option{WithOnSuccess(a), WithJobRequest(f.JobRequest)}
	for _, spec := range f.Jobs {
		name, args, ok := strings.Cut(spec, ":")
		if !ok || len(SplitRun(args)) == 0 {
			return nil, badFlag("--job %q: want NAME:ARGS", spec)
		}
		opts = append(opts, WithJobStep(strings.TrimSpace(name), SplitRun(args)...))
	}
	for _, spec := range f.JobOnSuccess {
		name, action, _ := strings.Cut(spec, ":")
		a, err := ParseFailureAction(strings.TrimSpace(action))
		if err != nil {
			return nil, badFlag("--job-on-success %q: want NAME:poweroff or NAME:reboot", spec)
		}
		opts = append(opts, WithJobOnSuccess(strings.TrimSpace(name), a))
	}
	return opts, nil
}
