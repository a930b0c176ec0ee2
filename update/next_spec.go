package update

import (
	"fmt"
	"os"
	"strings"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/tpm"
)

// NextSpec is what `slkit update prepare` is told about the next launch,
// as plain values (its flags --next-pcrs, --relaunch-policy,
// --next-policy, their -entry and -root flags, --policy-key and --start;
// a file name is "" when not given): either values predicted elsewhere,
// or the launches on the way to the next unseal, each an entry of a
// signed launch policy (launch/README.md), and the PCR values they start
// from. Options checks it and reads its files; its errors name those
// flags.
type NextSpec struct {
	// Via is how the next launch is reached (ParseVia).
	Via Via
	// NextPCRs is a file of predicted values to seal to instead
	// (tpm.PCRValuesInput, JSON of `slkit predict --json`): WithNext. It
	// excludes the policies, their roots and Start.
	NextPCRs string
	// Relaunch is the launch of the pre-launch environment this OS kexecs
	// into (ViaKexec only; `slkit launch --policy`), predicted first.
	Relaunch LaunchSpec
	// Next is the next launch: the pre-launch environment's.
	Next LaunchSpec
	// PolicyKey is the public key file both policies verify under
	// (required with either).
	PolicyKey string
	// Start is a file of the PCR values before the next boot's launch
	// (ViaReboot only; tpm.ParseExpected); without it, LaunchStart's.
	Start string
	// Firmware is the firmware prediction of the next boot LaunchStart
	// starts from (nil for none).
	Firmware *nextboot.Prediction
}

// LaunchSpec is one launch of a NextSpec (Launch, once read).
type LaunchSpec struct {
	// Policy is the signed launch policy file ("" for no such launch).
	Policy string
	// Entry is its entry's name, nil when not given (the first entry);
	// given without Policy it is refused.
	Entry *string
	// Root is the directory its images are read under at the policy's
	// paths (Launch.Images; "" for none).
	Root string
}

// nextSpecErr is a bad combination of NextSpec's values, worded as
// `update prepare`'s flags (an errkind.Input error).
func nextSpecErr(format string, a ...any) error {
	return errkind.Errorf(errkind.Input, format, a...)
}

// Options checks s and turns it into Prepare's options (none: the next
// launch is predicted from the current values), and says where the next
// launch's values come from. A bad combination is an errkind.Input error,
// a file that cannot be read an *fsys.InputError naming it.
func (s NextSpec) Options() ([]Option, string, error) {
	if s.NextPCRs != "" {
		for _, f := range []struct {
			flag  string
			given bool
		}{{"next-policy", s.Next.Policy != ""}, {"relaunch-policy", s.Relaunch.Policy != ""}, {"start", s.Start != ""},
			{"next-root", s.Next.Root != ""}, {"relaunch-root", s.Relaunch.Root != ""}} {
			if f.given {
				return nil, "", nextSpecErr("update prepare: --next-pcrs and --%s exclude each other", f.flag)
			}
		}
		x, err := fsys.ReadInput(tpm.PCRValuesInput, s.NextPCRs, tpm.ParseExpected)
		if err != nil {
			return nil, "", err
		}
		return []Option{WithNext(x)}, "the values in " + s.NextPCRs, nil
	}
	switch {
	case s.Relaunch.Policy != "" && s.Via != ViaKexec:
		return nil, "", nextSpecErr("update prepare: --relaunch-policy is for --via kexec")
	case s.Start != "" && s.Via != ViaReboot:
		return nil, "", nextSpecErr("update prepare: --start is for --via reboot (a kexec starts from the current values)")
	}
	var launches []Launch
	var what []string
	for _, k := range []struct {
		kind string
		spec LaunchSpec
	}{{"relaunch", s.Relaunch}, {"next", s.Next}} {
		ln, err := k.spec.read(k.kind, s.PolicyKey)
		if err != nil {
			return nil, "", err
		}
		if ln != nil {
			launches = append(launches, *ln)
			what = append(what, fmt.Sprintf("%s entry %q", k.spec.Policy, ln.Entry))
		}
	}
	if len(launches) == 0 {
		return nil, "", nil
	}
	var given *tpm.Expected
	if s.Start != "" {
		var err error
		if given, err = fsys.ReadInput(tpm.PCRValuesInput, s.Start, tpm.ParseExpected); err != nil {
			return nil, "", err
		}
	}
	start, from, err := LaunchStart(s.Via, given, s.Start, s.Firmware)
	if err != nil {
		return nil, "", err
	}
	opts := []Option{WithNextLaunches(launches...)}
	if start != nil {
		opts = append(opts, WithStart(start))
	}
	return opts, "predicted for " + strings.Join(what, " then ") + " from " + from, nil
}

// read checks the launch of flags kind-policy, kind-entry and kind-root
// and reads its policy and the key file keyPath (nil without a policy).
func (l LaunchSpec) read(kind, keyPath string) (*Launch, error) {
	if l.Policy == "" {
		for _, f := range []struct {
			flag  string
			given bool
		}{{"entry", l.Entry != nil}, {"root", l.Root != ""}} {
			if f.given {
				// Worded as the CLI's generic flag checks word it: the
				// command's own name, then the flags.
				return nil, nextSpecErr("prepare: --%s-%s needs --%s-policy", kind, f.flag, kind)
			}
		}
		return nil, nil
	}
	if keyPath == "" {
		return nil, nextSpecErr("prepare: --policy-key is required")
	}
	signed, pub, err := policy.ReadSigned(l.Policy, keyPath)
	if err != nil {
		return nil, err
	}
	ln := &Launch{Signed: signed, Pub: pub, Name: "--" + kind + "-policy " + l.Policy}
	if l.Entry != nil {
		ln.Entry = *l.Entry
	}
	if l.Root != "" {
		ln.Images = os.DirFS(l.Root)
	}
	return ln, nil
}
