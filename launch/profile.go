package launch

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/slkit/slkit/tpm"
)

// Component names which bytes of a launch an event measures.
type Component string

// The components of a measured launch. A DRTM profile adds its own (the
// DLME entry point, the SLRT) together with the bytes they stand for.
const (
	// Kernel is the kernel image file, every byte, as kexec loads it.
	Kernel Component = "kernel"
	// Initrd is the initrd file, every byte, before slkit appends its
	// event-log cpio (see LogCpio).
	Initrd Component = "initrd"
	// Cmdline is the kernel command line: its UTF-8 bytes exactly, with no
	// trailing NUL (kexec_file_load adds the NUL the kernel needs).
	Cmdline Component = "cmdline"
	// LaunchPolicy is slkit's signed launch policy: the exact bytes of the
	// signed policy file (the DSSE envelope), as read.
	LaunchPolicy Component = "launch-policy"
	// LaunchPolicyKey is the key the policy verified under: its PKIX DER
	// encoding, whose SHA-256 is the key's id (policy.KeyID). The
	// envelope's signature differs under another key, but only this event
	// says which key it was.
	LaunchPolicyKey Component = "launch-policy-key"
)

func (c Component) known() bool {
	switch c {
	case Kernel, Initrd, Cmdline, LaunchPolicy, LaunchPolicyKey:
		return true
	}
	return false
}

// Step is one event of a measurement profile.
type Step struct {
	// Component names the bytes whose digest is extended.
	Component Component
	// PCR is the PCR extended.
	PCR int
	// Type is the TCG event type recorded in the log.
	Type tpm.EventType
	// Description is the event data recorded in the log: UTF-8 text with
	// no NUL terminator, naming the component (a refused unseal quotes it).
	Description string
	// Optional steps are left out when the entry has no such component
	// (an entry without an initrd, a launch without a policy).
	Optional bool
}

// Profile is a measurement profile: the events of a launch, in order.
// Order matters twice: events on the same PCR are chained, and the log
// lists events in this order.
type Profile struct {
	// Name identifies the profile in a launch policy ("measured-v1").
	// A profile's steps never change under the same name: a change is a
	// new name, so that a signed policy pins the PCR values it allows.
	Name  string
	Steps []Step
}

// ProfileMeasured is the name of the default profile: a measured launch
// without DRTM, as a boot loader does it (TCG PC Client PFP §3.3.4.4; the
// Linux TPM PCR registry: PCR 8 for the command line, PCR 9 for the
// images). The DRTM's PCR 17/18 events, at locality 2, are package
// slaunch's profile.
const ProfileMeasured = "measured-v1"

// MeasuredProfile returns the default measured-launch profile:
//
//	#  component      PCR  event type     event data (UTF-8, no NUL)
//	1  launch-policy   8   EV_IPL (0x0D)  "launch-policy"   (only when a policy is given)
//	2  kernel          9   EV_IPL (0x0D)  "kernel"
//	3  initrd          9   EV_IPL (0x0D)  "initrd"          (only when the entry has one)
//	4  cmdline         8   EV_IPL (0x0D)  "cmdline"         (always, also when empty)
//
// The policy comes first because it is measured before it is acted on:
// it decides which kernel, initrd and command line follow.
func MeasuredProfile() *Profile {
	return &Profile{Name: ProfileMeasured, Steps: []Step{
		{Component: LaunchPolicy, PCR: 8, Type: tpm.EvIPL, Description: "launch-policy", Optional: true},
		{Component: Kernel, PCR: 9, Type: tpm.EvIPL, Description: "kernel"},
		{Component: Initrd, PCR: 9, Type: tpm.EvIPL, Description: "initrd", Optional: true},
		{Component: Cmdline, PCR: 8, Type: tpm.EvIPL, Description: "cmdline"},
	}}
}

// ProfileMeasuredKey names measured-v1 plus the policy key's id.
const ProfileMeasuredKey = "measured-v2"

// MeasuredKeyProfile returns measured-v2: measured-v1 with the key the
// policy verified under measured right after the policy, so that a change
// of the policy key shows in PCR 8:
//
//	#  component          PCR  event type     event data (UTF-8, no NUL)
//	1  launch-policy       8   EV_IPL (0x0D)  "launch-policy"      (only when a policy is given)
//	2  launch-policy-key   8   EV_IPL (0x0D)  "launch-policy-key"  (with the policy: H(PKIX DER of the key))
//	3  kernel              9   EV_IPL (0x0D)  "kernel"
//	4  initrd              9   EV_IPL (0x0D)  "initrd"             (only when the entry has one)
//	5  cmdline             8   EV_IPL (0x0D)  "cmdline"
//
// measured-v1 is left as it was, so that the PCR values predicted and
// sealed for it stay valid; a policy chooses measured-v2 per entry.
func MeasuredKeyProfile() *Profile {
	p := MeasuredProfile()
	p.Name = ProfileMeasuredKey
	key := Step{Component: LaunchPolicyKey, PCR: 8, Type: tpm.EvIPL, Description: "launch-policy-key", Optional: true}
	p.Steps = append(p.Steps[:1], append([]Step{key}, p.Steps[1:]...)...)
	return p
}

// ProfileByName returns a fresh copy of a built-in profile.
func ProfileByName(name string) (*Profile, error) {
	switch name {
	case ProfileMeasured:
		return MeasuredProfile(), nil
	case ProfileMeasuredKey:
		return MeasuredKeyProfile(), nil
	}
	return nil, fmt.Errorf("%w: unknown profile %q (known: %s)", ErrProfile, name, strings.Join(ProfileNames(), ", "))
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string { return []string{ProfileMeasured, ProfileMeasuredKey} }

// Validate checks that every step names a known component once, a PCR in
// range and a non-empty UTF-8 description without NUL.
func (p *Profile) Validate() error {
	if p == nil || len(p.Steps) == 0 {
		return fmt.Errorf("%w: no steps", ErrProfile)
	}
	seen := map[Component]bool{}
	for i, s := range p.Steps {
		switch {
		case !s.Component.known():
			return fmt.Errorf("%w %s: step %d: unknown component %q", ErrProfile, p.Name, i+1, s.Component)
		case seen[s.Component]:
			return fmt.Errorf("%w %s: step %d: component %q measured twice", ErrProfile, p.Name, i+1, s.Component)
		case s.PCR < 0 || s.PCR >= tpm.NumPCRs:
			return fmt.Errorf("%w %s: step %d: PCR %d out of range", ErrProfile, p.Name, i+1, s.PCR)
		case s.Description == "" || !utf8.ValidString(s.Description) || strings.ContainsRune(s.Description, 0):
			return fmt.Errorf("%w %s: step %d: description must be non-empty UTF-8 without NUL", ErrProfile, p.Name, i+1)
		case s.Type == tpm.EvNoAction:
			return fmt.Errorf("%w %s: step %d: EV_NO_ACTION events are never extended", ErrProfile, p.Name, i+1)
		}
		seen[s.Component] = true
	}
	return nil
}

// PCRs lists the PCRs the profile extends, ascending.
func (p *Profile) PCRs() []int {
	var out []int
	seen := map[int]bool{}
	for _, s := range p.Steps {
		if !seen[s.PCR] {
			seen[s.PCR] = true
			out = append(out, s.PCR)
		}
	}
	sort.Ints(out)
	return out
}
