package initramfs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"
)

// ConfigVersion is the only init configuration version this build reads.
const ConfigVersion = 1

// Limits on an init configuration, so that a damaged file cannot make
// PID 1 allocate without bound.
const (
	maxConfigSize = 64 << 10
	maxArgs       = 256
	maxModules    = 64
	maxThen       = 16
)

// FailureAction is what the PID-1 runtime does when the configured slkit
// command fails: it never falls into a shell unless the image was built
// with a debug shell, and then still ends with this action.
type FailureAction string

// The failure actions (reboot(2) commands LINUX_REBOOT_CMD_POWER_OFF and
// LINUX_REBOOT_CMD_RESTART).
const (
	PowerOff FailureAction = "poweroff"
	Reboot   FailureAction = "reboot"
)

// ParseFailureAction accepts "poweroff" and "reboot".
func ParseFailureAction(s string) (FailureAction, error) {
	switch a := FailureAction(s); a {
	case PowerOff, Reboot:
		return a, nil
	}
	return "", fmt.Errorf("%w: failure action %q: want poweroff or reboot", ErrInput, s)
}

// Config is the init configuration at ConfigPath: what the PID-1 runtime
// runs and what it does when that fails.
//
//	{
//	  "version": 1,
//	  "run": ["launch", "--policy", "/etc/slkit/policy.json", "--policy-key", "/etc/slkit/policy.pub"],
//	  "on_failure": "poweroff",
//	  "debug_shell": false,
//	  "modules": ["/lib/modules/efivarfs.ko"],
//	  "then": [["pcr", "read", "8", "9"], ["!", "unseal", "/slkit/other.sealed"]],
//	  "on_success": "poweroff",
//	  "jobs": {"update": {"steps": [["efi", "queue", "..."]], "on_success": "reboot"}},
//	  "job_request": "/run/disk/slkit-jobs"
//	}
//
// "run" is slkit's argument vector without the program name; the runtime
// runs it as a child process of the same binary. "then" are further slkit
// commands run in order after "run" succeeds (a target image's post-launch
// steps: verify the log, unseal, ...); the first that fails ends the run.
// A step whose first argument is "!" (RefusedStep) must be refused: it
// succeeds only when the command exits with status 1 or 3. After the
// steps, the job named by the first line of the job_request file, if any,
// runs (see Job), and the runtime ends with its on_success, else the
// image's (default poweroff). "modules", "then", "on_success", "jobs" and
// "job_request" may be left out.
type Config struct {
	Version    int            `json:"version"`
	Run        []string       `json:"run"`
	OnFailure  FailureAction  `json:"on_failure"`
	DebugShell bool           `json:"debug_shell"`
	Modules    []string       `json:"modules,omitempty"`
	Then       [][]string     `json:"then,omitempty"`
	OnSuccess  FailureAction  `json:"on_success,omitempty"`
	Jobs       map[string]Job `json:"jobs,omitempty"`
	JobRequest string         `json:"job_request,omitempty"`
}

// Steps returns every command the runtime runs, in order: Run, then Then
// (a job's steps come after them, when one is requested).
func (c *Config) Steps() [][]string { return append([][]string{c.Run}, c.Then...) }

// SuccessAction is what the runtime does after the image's steps and the
// job (nil: none) succeeded.
func (c *Config) SuccessAction(job *Job) FailureAction {
	switch {
	case job != nil && job.OnSuccess != "":
		return job.OnSuccess
	case c.OnSuccess != "":
		return c.OnSuccess
	}
	return PowerOff
}

// DefaultRun is the run vector of a pre-launch image: slkit launch with the
// embedded policy and its key.
func DefaultRun() []string {
	return []string{"launch", "--policy", PolicyPath, "--policy-key", PolicyKeyPath}
}

// SplitRun splits a --run value into arguments at white space. There is
// no quoting: an argument cannot contain white space (paths in the image
// are chosen by the image's builder, so none needs it).
func SplitRun(s string) []string { return strings.Fields(s) }

// Validate checks the version, that run is a non-empty list of UTF-8
// arguments without NUL (execve(2) strings), the failure action, and that
// modules are absolute, clean paths.
func (c *Config) Validate() error {
	switch {
	case c.Version != ConfigVersion:
		return fmt.Errorf("%w: version %d, this slkit reads version %d", ErrConfig, c.Version, ConfigVersion)
	case len(c.Modules) > maxModules:
		return fmt.Errorf("%w: %d modules (at most %d)", ErrConfig, len(c.Modules), maxModules)
	case len(c.Then) > maxThen:
		return fmt.Errorf("%w: %d then steps (at most %d)", ErrConfig, len(c.Then), maxThen)
	}
	if err := validateArgs("run", c.Run); err != nil {
		return err
	}
	for i, step := range c.Then {
		if err := validateArgs(fmt.Sprintf("then step %d", i+1), step); err != nil {
			return err
		}
	}
	if _, err := ParseFailureAction(string(c.OnFailure)); err != nil {
		return fmt.Errorf("%w: on_failure %q: want poweroff or reboot", ErrConfig, c.OnFailure)
	}
	if _, err := ParseFailureAction(string(c.OnSuccess)); c.OnSuccess != "" && err != nil {
		return fmt.Errorf("%w: on_success %q: want poweroff or reboot", ErrConfig, c.OnSuccess)
	}
	if err := c.validateJobs(); err != nil {
		return err
	}
	for _, m := range c.Modules {
		if !utf8.ValidString(m) || strings.ContainsRune(m, 0) || !path.IsAbs(m) || path.Clean(m) != m || m == "/" {
			return fmt.Errorf("%w: module path %q is not an absolute clean path", ErrConfig, m)
		}
	}
	return nil
}

// validateArgs checks one command: 1..maxArgs execve(2) strings, the
// first (the slkit command) not empty.
func validateArgs(what string, args []string) error {
	switch {
	case len(args) == 0:
		return fmt.Errorf("%w: %s is empty", ErrConfig, what)
	case len(args) > maxArgs:
		return fmt.Errorf("%w: %s has %d arguments (at most %d)", ErrConfig, what, len(args), maxArgs)
	}
	for i, a := range args {
		if !utf8.ValidString(a) || strings.ContainsRune(a, 0) {
			return fmt.Errorf("%w: %s argument %d is not UTF-8 without NUL", ErrConfig, what, i+1)
		}
	}
	if cmd, _ := StepArgs(args); len(cmd) == 0 || cmd[0] == "" {
		return fmt.Errorf("%w: %s has an empty command", ErrConfig, what)
	}
	return nil
}

// ParseConfig reads an init configuration: one JSON object, no unknown
// fields, no trailing data, valid UTF-8, at most 64 KiB, then Validate.
func ParseConfig(b []byte) (*Config, error) {
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrConfig, len(b), maxConfigSize)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrConfig)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrConfig)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(c.Modules) == 0 {
		c.Modules = nil
	}
	if len(c.Then) == 0 {
		c.Then = nil
	}
	if len(c.Jobs) == 0 {
		c.Jobs = nil
	}
	return &c, nil
}

// Marshal returns the configuration as indented JSON with a final newline;
// the same Config always gives the same bytes.
func (c *Config) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
