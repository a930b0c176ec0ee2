package update

import (
	"fmt"

	"github.com/slkit/slkit/tpm"
)

// Via is how the next launch is reached.
type Via string

const (
	// ViaReboot: a firmware reboot. The firmware measures PCRs 0–7 anew,
	// the queued changes into some of them (WithChangedPCRs), which the
	// update object leaves out and replaces with an update window.
	ViaReboot Via = "reboot"
	// ViaKexec: the launched OS kexecs back into the pre-launch
	// environment, which commits and relaunches. No firmware runs and the
	// TPM is not reset: PCRs 0–7 keep their values, PCRs 8/9 are extended
	// further (WithNextLaunches predicts them from the current values).
	ViaKexec Via = "kexec"
)

// ParseVia accepts "reboot" and "kexec".
func ParseVia(s string) (Via, error) {
	switch v := Via(s); v {
	case ViaReboot, ViaKexec:
		return v, nil
	}
	return "", fmt.Errorf("%w: --via %q: want reboot or kexec", ErrPlan, s)
}

// MaxLaunches bounds an update window: at most this many launches.
const MaxLaunches = 16

type config struct {
	via     Via
	changed []int
	next    *tpm.Expected
	// firmware is the next boot's firmware PCRs (WithFirmware).
	firmware *tpm.Expected
	// nextLaunches are predicted in the sealed bank (WithNextLaunches),
	// from start (WithStart).
	nextLaunches []Launch
	start        *tpm.PCRs
	counter      uint32
	launches     uint64
	pin          []byte
	logs         []*tpm.EventLog
	logProblem   string
	force        bool
}

func newConfig(opts []Option) (*config, error) {
	c := &config{via: ViaReboot, counter: tpm.DefaultCounterIndex, launches: 1}
	for _, o := range opts {
		o(c)
	}
	if c.next != nil && len(c.nextLaunches) > 0 {
		return nil, fmt.Errorf("%w: give the next launch's values or its launches, not both", ErrPlan)
	}
	if c.start != nil && (c.via != ViaReboot || len(c.nextLaunches) == 0) {
		return nil, fmt.Errorf("%w: start values are for predicting launches after a firmware reboot (a kexec continues from the current values)", ErrPlan)
	}
	if c.launches < 1 || c.launches > MaxLaunches {
		return nil, fmt.Errorf("%w: an update window of %d launches (1-%d)", ErrPlan, c.launches, MaxLaunches)
	}
	return c, nil
}

// Option configures Prepare and Finish.
type Option func(*config)

// WithVia sets how the next launch is reached (default ViaReboot).
func WithVia(v Via) Option { return func(c *config) { c.via = v } }

// WithChangedPCRs gives the PCRs the queued changes are measured into
// (journal.MeasuredPCRs of the pending entries): after a firmware reboot
// the update object leaves exactly those out. Without it nothing is left
// out.
func WithChangedPCRs(pcrs ...int) Option {
	return func(c *config) { c.changed = append(c.changed, pcrs...) }
}

// WithNext gives the values the next launch extends PCRs to (from
// PredictLaunches, or `slkit predict --json`); it must hold the sealed
// file's bank, and PCRs it does not hold keep their current values.
func WithNext(x *tpm.Expected) Option { return func(c *config) { c.next = x } }

// WithNextLaunches gives the launches before the next unseal instead:
// Prepare predicts them in the sealed file's bank (PredictLaunches), from
// the current values with ViaKexec, else from WithStart's.
func WithNextLaunches(ls ...Launch) Option {
	return func(c *config) { c.nextLaunches = append(c.nextLaunches, ls...) }
}

// WithStart gives the PCR values before the next boot's launch for
// WithNextLaunches after a firmware reboot (default: reset values).
func WithStart(p *tpm.PCRs) Option { return func(c *config) { c.start = p } }

// WithFirmware gives the values the firmware and the boot image will
// measure into their PCRs at the next boot (package nextboot, from this
// boot's firmware log and the journal): a firmware PCR it holds is sealed
// to its value instead of being left to the update window, so a window
// opens only for the PCRs it cannot predict. WithNext's values win for
// the PCRs both hold.
func WithFirmware(x *tpm.Expected) Option { return func(c *config) { c.firmware = x } }

// firmwareValue is WithFirmware's value of a PCR.
func (c *config) firmwareValue(bank tpm.Alg, pcr int) (tpm.Digest, bool) {
	if c.firmware == nil {
		return nil, false
	}
	return c.firmware.Get(bank, pcr)
}

// WithCounter sets the update-window counter's NV index (default
// tpm.DefaultCounterIndex; the pre-launch environment defines it).
func WithCounter(index uint32) Option { return func(c *config) { c.counter = index } }

// WithLaunches sets how many launches the window lasts (1-16, default 1:
// only the next one).
func WithLaunches(n int) Option { return func(c *config) { c.launches = uint64(n) } }

// WithPIN is the sealed file's PIN.
func WithPIN(pin []byte) Option { return func(c *config) { c.pin = pin } }

// WithEventLogs gives Finish the current event logs: the events of the
// resealed PCRs are recorded, so that a later refusal can name them.
func WithEventLogs(logs ...*tpm.EventLog) Option {
	return func(c *config) { c.logs = append(c.logs, logs...) }
}

// WithLogUnavailable says why the current event log could not be used
// (tpm.WithLogUnavailable): a refusal then says that its explanation is
// unavailable, instead of failing for the log.
func WithLogUnavailable(problem string) Option {
	return func(c *config) { c.logProblem = problem }
}

// WithForce lets Finish reseal to the current values although the update
// object does not unseal yet (abandoning a prepared update).
func WithForce(on bool) Option { return func(c *config) { c.force = on } }

// IsSRTM reports whether the firmware extends pcr (0–7: the static root
// of trust, PC Client PFP §3.3.4).
func IsSRTM(pcr int) bool { return pcr >= 0 && pcr <= 7 }
