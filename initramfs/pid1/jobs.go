package pid1

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/slkit/slkit/initramfs"
)

// PhaseJob is the phase of a requested job's steps.
const PhaseJob = "job"

// takeJob reads the job request file (initramfs.Config.JobRequest), takes
// its first job and writes back the rest (removing the file when nothing
// is left), durably, before the job runs: a job that reboots or kexecs
// does not run again on the next boot. It returns nil when the image has
// no jobs or none is requested, and a reason when the request is not
// one of the image's jobs (the file is left as it is).
func (r *runtime) takeJob(cfg *initramfs.Config) (*initramfs.Job, string) {
	if cfg.JobRequest == "" {
		return nil, ""
	}
	req, err := r.sys.ReadFileAtMost(cfg.JobRequest, initramfs.MaxJobRequest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, ""
	case err != nil:
		return nil, fmt.Sprintf("job request %s: %v", cfg.JobRequest, err)
	}
	name, rest, err := cfg.NextJob(req)
	switch {
	case err != nil:
		return nil, fmt.Sprintf("job request %s: %v", cfg.JobRequest, err)
	case name == "":
		return nil, ""
	}
	if err := r.sys.ReplaceFile(cfg.JobRequest, []byte(rest)); err != nil {
		return nil, fmt.Sprintf("job request %s: cannot take job %q from it: %v", cfg.JobRequest, name, err)
	}
	more := strings.Count(rest, "\n")
	r.phase(PhaseJob)
	fmt.Fprintf(r.out, "slkit: job %s requested in %s (%d more queued there)\n", name, cfg.JobRequest, more)
	j := cfg.Jobs[name]
	return &j, ""
}
