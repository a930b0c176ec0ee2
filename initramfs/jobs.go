package initramfs

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on jobs and job requests.
const (
	maxJobs = 8
	// MaxJobRequest bounds the job request file: the runtime checks the
	// size before it reads it (it lives on a disk anyone may write).
	MaxJobRequest = 4 << 10
	maxJobName    = 32
)

// Job is a named list of steps in an image, run only when the job request
// file asks for it (Config.JobRequest), after the image's own steps.
//
// The steps are part of the measured image; only the choice among them,
// and whether any runs, comes from the request file. That is how a
// launched OS is told to do one of the things its image allows (queue
// these changes and leave the launch, queue those and reboot...) without
// the request being able to add a step: a target image that must behave
// differently on its next launch without becoming another image (and so
// another measurement), as systemd-boot's one-shot entry selects among
// configured entries.
type Job struct {
	// Steps are slkit commands, run in order like Config.Then.
	Steps [][]string `json:"steps"`
	// OnSuccess is what the runtime does when every step succeeded
	// (default: the image's OnSuccess).
	OnSuccess FailureAction `json:"on_success,omitempty"`
}

// validJobName reports whether s is 1–32 of [a-z0-9-].
func validJobName(s string) bool {
	if s == "" || len(s) > maxJobName {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validateJobs checks the jobs and the request file's path.
func (c *Config) validateJobs() error {
	switch {
	case len(c.Jobs) > maxJobs:
		return fmt.Errorf("%w: %d jobs (at most %d)", ErrConfig, len(c.Jobs), maxJobs)
	case len(c.Jobs) > 0 && c.JobRequest == "":
		return fmt.Errorf("%w: jobs without a job_request file", ErrConfig)
	case len(c.Jobs) == 0 && c.JobRequest != "":
		return fmt.Errorf("%w: a job_request file without jobs", ErrConfig)
	case c.JobRequest != "" && (!path.IsAbs(c.JobRequest) || path.Clean(c.JobRequest) != c.JobRequest || c.JobRequest == "/" || !utf8.ValidString(c.JobRequest) || strings.ContainsRune(c.JobRequest, 0)):
		return fmt.Errorf("%w: job_request %q is not an absolute clean path", ErrConfig, c.JobRequest)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
		j := c.Jobs[name]
		if !validJobName(name) {
			return fmt.Errorf("%w: job name %q: want 1-%d of a-z, 0-9 and -", ErrConfig, name, maxJobName)
		}
		if len(j.Steps) == 0 || len(j.Steps) > maxThen {
			return fmt.Errorf("%w: job %q has %d steps (1 to %d)", ErrConfig, name, len(j.Steps), maxThen)
		}
		for i, step := range j.Steps {
			if err := validateArgs(fmt.Sprintf("job %q step %d", name, i+1), step); err != nil {
				return err
			}
		}
		if j.OnSuccess != "" {
			if _, err := ParseFailureAction(string(j.OnSuccess)); err != nil {
				return fmt.Errorf("%w: job %q on_success %q: want poweroff or reboot", ErrConfig, name, j.OnSuccess)
			}
		}
	}
	return nil
}

// NextJob reads a job request (the content of the request file, at most
// MaxJobRequest bytes): one job name per line, blank lines ignored. It
// returns the first name, which must be one of the configured jobs, and
// what remains for later boots ("" when nothing does).
func (c *Config) NextJob(req []byte) (name string, rest string, err error) {
	if len(req) > MaxJobRequest {
		return "", "", fmt.Errorf("%w: job request of %d bytes (at most %d)", ErrInput, len(req), MaxJobRequest)
	}
	var names []string
	for _, l := range strings.Split(string(req), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	if len(names) == 0 {
		return "", "", nil
	}
	if _, ok := c.Jobs[names[0]]; !ok || !validJobName(names[0]) {
		return "", "", fmt.Errorf("%w: job %q is not one of this image's jobs (%s)", ErrInput, clipName(names[0]), strings.Join(slices.Sorted(maps.Keys(c.Jobs)), ", "))
	}
	if len(names) > 1 {
		rest = strings.Join(names[1:], "\n") + "\n"
	}
	return names[0], rest, nil
}

// clipName keeps an unknown job name short in a message.
func clipName(s string) string {
	if len(s) > maxJobName {
		return s[:maxJobName] + "…"
	}
	return s
}

// RefusedStep is the first argument of a step that must be refused: the
// runtime runs the rest and succeeds only when it exits with status 1
// (bad input) or 3 (a verification refused it).
const RefusedStep = "!"

// StepArgs splits a step into the slkit command and whether it must be
// refused.
func StepArgs(step []string) (args []string, mustRefuse bool) {
	if len(step) > 0 && step[0] == RefusedStep {
		return step[1:], true
	}
	return step, false
}
