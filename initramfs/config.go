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
//	  "modules": ["/lib/modules/efivarfs.ko"]
//	}
//
// "run" is slkit's argument vector without the program name; the runtime
// runs it as a child process of the same binary. "modules" may be left out.
type Config struct {
	Version    int           `json:"version"`
	Run        []string      `json:"run"`
	OnFailure  FailureAction `json:"on_failure"`
	DebugShell bool          `json:"debug_shell"`
	Modules    []string      `json:"modules,omitempty"`
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
	case len(c.Run) == 0:
		return fmt.Errorf("%w: run is empty", ErrConfig)
	case len(c.Run) > maxArgs:
		return fmt.Errorf("%w: run has %d arguments (at most %d)", ErrConfig, len(c.Run), maxArgs)
	case len(c.Modules) > maxModules:
		return fmt.Errorf("%w: %d modules (at most %d)", ErrConfig, len(c.Modules), maxModules)
	}
	for i, a := range c.Run {
		if !utf8.ValidString(a) || strings.ContainsRune(a, 0) {
			return fmt.Errorf("%w: run argument %d is not UTF-8 without NUL", ErrConfig, i+1)
		}
	}
	if c.Run[0] == "" {
		return fmt.Errorf("%w: run has an empty command", ErrConfig)
	}
	if _, err := ParseFailureAction(string(c.OnFailure)); err != nil {
		return fmt.Errorf("%w: on_failure %q: want poweroff or reboot", ErrConfig, c.OnFailure)
	}
	for _, m := range c.Modules {
		if !utf8.ValidString(m) || strings.ContainsRune(m, 0) || !path.IsAbs(m) || path.Clean(m) != m || m == "/" {
			return fmt.Errorf("%w: module path %q is not an absolute clean path", ErrConfig, m)
		}
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
