package policy

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/slkit/slkit/internal/strictjson"
)

// Version is the only policy document version this build understands.
const Version = 1

// Limits on a policy document: generous for real use, small enough that a
// hostile file cannot make the parser allocate without bound.
const (
	MaxPolicySize = 1 << 20
	MaxEntries    = 256
	maxCmdline    = 64 << 10
	maxPath       = 4096
)

// Policy is a launch policy document (version 1):
//
//	{
//	  "version": 1,
//	  "policy_version": 3,
//	  "entries": [
//	    {
//	      "name": "default",
//	      "kernel": {"path": "/boot/vmlinuz", "sha256": "<64 lowercase hex>"},
//	      "initrd": {"path": "/boot/initrd.img", "sha256": "<64 lowercase hex>"},
//	      "cmdline": "console=ttyS0 root=/dev/vda1",
//	      "profile": "measured-v1",
//	      "require_drtm": false
//	    }
//	  ]
//	}
//
// "version" is the document format. "policy_version" is the policy's own
// version, 0 to MaxPolicyVersion, which the signer raises when older
// policies must no longer launch: the pre-launch stage refuses a policy
// whose policy_version is below the minimum a TPM anchor holds
// (update.PolicyAnchor). "policy_version", "initrd" and "require_drtm"
// may be left out (0; no initrd; DRTM not required). Paths are absolute
// paths inside the pre-launch environment.
type Policy struct {
	Version       int     `json:"version"`
	PolicyVersion uint64  `json:"policy_version,omitempty"`
	Entries       []Entry `json:"entries"`
}

// MaxPolicyVersion bounds policy_version.
const MaxPolicyVersion = 1<<31 - 1

// Entry is one allowed boot entry.
type Entry struct {
	// Name identifies the entry (slkit launch --entry): 1–64 characters
	// of A–Z a–z 0–9 . _ -, starting with a letter or digit; unique.
	Name   string `json:"name"`
	Kernel Image  `json:"kernel"`
	// Initrd is nil for an entry without an initrd.
	Initrd *Image `json:"initrd,omitempty"`
	// Cmdline is the exact kernel command line (UTF-8, no NUL).
	Cmdline string `json:"cmdline"`
	// Profile names the measurement profile (launch.ProfileByName).
	Profile string `json:"profile"`
	// RequireDRTM forbids falling back to a measured launch without DRTM.
	RequireDRTM bool `json:"require_drtm,omitempty"`
}

// Image is an image's path and SHA-256 digest.
type Image struct {
	Path string `json:"path"`
	// SHA256 is 64 lowercase hex digits.
	SHA256 string `json:"sha256"`
}

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	profileRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Parse parses and validates a policy document. It fails closed: any
// byte it does not understand is an error wrapping ErrMalformed.
func Parse(b []byte) (*Policy, error) {
	if len(b) > MaxPolicySize {
		return nil, fmt.Errorf("%w policy: %d bytes, more than %d", ErrMalformed, len(b), MaxPolicySize)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w policy: not valid UTF-8", ErrMalformed)
	}
	// The version decides how to read the rest: check it first, so that a
	// newer document says so instead of naming a field it does not know.
	var top map[string]json.RawMessage
	if err := strictjson.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("%w policy: %w", ErrMalformed, err)
	}
	v, ok := top["version"]
	if !ok {
		return nil, fmt.Errorf("%w policy: no \"version\"", ErrMalformed)
	}
	if string(v) != "1" {
		return nil, fmt.Errorf("%w policy: unknown version %s (this slkit reads version %d)", ErrMalformed, clip(string(v)), Version)
	}
	var p Policy
	if err := strictjson.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w policy: %w", ErrMalformed, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks every rule Parse enforces on the decoded document.
func (p *Policy) Validate() error {
	if p.Version != Version {
		return fmt.Errorf("%w policy: unknown version %d", ErrMalformed, p.Version)
	}
	if p.PolicyVersion > MaxPolicyVersion {
		return fmt.Errorf("%w policy: policy_version %d, at most %d", ErrMalformed, p.PolicyVersion, MaxPolicyVersion)
	}
	if len(p.Entries) == 0 {
		return fmt.Errorf("%w policy: no entries", ErrMalformed)
	}
	if len(p.Entries) > MaxEntries {
		return fmt.Errorf("%w policy: %d entries, more than %d", ErrMalformed, len(p.Entries), MaxEntries)
	}
	seen := map[string]bool{}
	for i := range p.Entries {
		e := &p.Entries[i]
		if err := e.validate(); err != nil {
			return fmt.Errorf("%w policy: entry %d: %w", ErrMalformed, i+1, err)
		}
		if seen[e.Name] {
			return fmt.Errorf("%w policy: entry %d: duplicate entry name %q", ErrMalformed, i+1, e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}

func (e *Entry) validate() error {
	if !nameRE.MatchString(e.Name) {
		return fmt.Errorf("name %q: want 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit", e.Name)
	}
	if err := e.Kernel.validate("kernel"); err != nil {
		return fmt.Errorf("%q: %w", e.Name, err)
	}
	if e.Initrd != nil {
		if err := e.Initrd.validate("initrd"); err != nil {
			return fmt.Errorf("%q: %w", e.Name, err)
		}
	}
	switch {
	case len(e.Cmdline) > maxCmdline:
		return fmt.Errorf("%q: cmdline is %d bytes, more than %d", e.Name, len(e.Cmdline), maxCmdline)
	case !utf8.ValidString(e.Cmdline):
		return fmt.Errorf("%q: cmdline is not valid UTF-8", e.Name)
	case strings.IndexByte(e.Cmdline, 0) >= 0:
		return fmt.Errorf("%q: cmdline holds a NUL byte", e.Name)
	case !profileRE.MatchString(e.Profile):
		return fmt.Errorf("%q: profile %q: want a profile name such as \"measured-v1\"", e.Name, e.Profile)
	}
	return nil
}

func (im *Image) validate(what string) error {
	switch {
	case im.Path == "" || len(im.Path) > maxPath:
		return fmt.Errorf("%s path: want an absolute path of 1-%d bytes", what, maxPath)
	case !strings.HasPrefix(im.Path, "/") || path.Clean(im.Path) != im.Path || im.Path == "/":
		return fmt.Errorf("%s path %q: want a clean absolute file path", what, im.Path)
	case strings.IndexByte(im.Path, 0) >= 0:
		return fmt.Errorf("%s path holds a NUL byte", what)
	case !sha256RE.MatchString(im.SHA256):
		return fmt.Errorf("%s sha256 %q: want 64 lowercase hex digits", what, clip(im.SHA256))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// Entry returns the entry called name, or the first entry when name is "".
func (p *Policy) Entry(name string) (*Entry, error) {
	if name == "" {
		return &p.Entries[0], nil
	}
	for i := range p.Entries {
		if p.Entries[i].Name == name {
			return &p.Entries[i], nil
		}
	}
	names := make([]string, len(p.Entries))
	for i, e := range p.Entries {
		names[i] = e.Name
	}
	return nil, fmt.Errorf("%w %q (the policy has: %s)", ErrNoEntry, name, strings.Join(names, ", "))
}

// Marshal encodes the policy as indented JSON with a trailing newline.
func (p *Policy) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
