package nextboot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/tpm"
)

type config struct {
	image   *Image
	changes []Change
	read    func(efi.Name) (*efi.Variable, error)
}

// Option configures Predict.
type Option func(*config)

// WithImage is the image the next boot starts (default: the one the
// current log shows, unchanged).
func WithImage(img *Image) Option { return func(c *config) { c.image = img } }

// WithChanges are the variable changes committed before the next boot,
// in the order they are applied.
func WithChanges(cs ...Change) Option {
	return func(c *config) { c.changes = append(c.changes, cs...) }
}

// WithVariables reads the machine's current variables for values the log
// does not show (a Boot#### a new BootOrder names); it returns nil, nil
// for a variable that does not exist.
func WithVariables(read func(efi.Name) (*efi.Variable, error)) Option {
	return func(c *config) { c.read = read }
}

// WithVars is WithVariables reading the variables v holds (efivarfs).
func WithVars(v *efi.Vars) Option {
	return WithVariables(func(n efi.Name) (*efi.Variable, error) {
		x, err := v.Get(n)
		if errors.Is(err, efi.ErrNotFound) {
			return nil, nil
		}
		return x, err
	})
}

// Prediction is the next boot's firmware log and PCR values.
type Prediction struct {
	// Banks are the banks predicted: those of the log slkit can compute.
	Banks []tpm.Alg
	// Log is the predicted log: the current one with the changed events
	// replaced.
	Log *tpm.EventLog
	// PCRs are the predicted values of every PCR the current or the
	// predicted log extends and of PCRs 0-7, except the unpredictable
	// ones, at the hand-over to the booted image's kernel (slkit's own
	// measurements in the pre-launch environment come after).
	PCRs *tpm.PCRs
	// Current are the values the current log replays to.
	Current *tpm.PCRs
	// Changed lists the PCRs whose predicted value differs from the
	// current one; Unpredictable the PCRs slkit cannot predict, with why.
	Changed       []int
	Unpredictable map[int]string
}

// Predict computes the next boot's measurements from the current firmware
// log l (see the package documentation for the model). It fails for a
// change it cannot model (ErrUnpredictable), a change that would stop
// the next boot (ErrWouldNotBoot), or a log without what the image
// replacement needs (ErrLog).
func Predict(l *tpm.EventLog, opts ...Option) (*Prediction, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	m := analyze(l)
	if len(m.banks) == 0 {
		return nil, fmt.Errorf("%w: no bank slkit can compute", ErrLog)
	}
	unpred := map[int]string{}
	note := func(pcr int, why string) {
		if _, ok := unpred[pcr]; !ok && why != "" {
			unpred[pcr] = why
		}
	}
	vs := &values{known: m.logValues(), read: cfg.read}
	changed := map[efi.Name]bool{}
	for i := range cfg.changes {
		c := &cfg.changes[i]
		k, u, err := classify(c, func(n efi.Name) bool { return m.measured[n] })
		if err != nil {
			return nil, err
		}
		for p, why := range u {
			note(p, c.Label+": "+why)
		}
		if k == kindNone {
			continue
		}
		cur, known, err := vs.get(c.Var)
		if err != nil {
			return nil, err
		}
		if known && !c.Expect.Holds(cur) {
			return nil, fmt.Errorf("%w: %s: its precondition does not hold for the current value (%s): the commit will refuse it as a conflict", ErrUnpredictable, c.Label, describeValue(cur))
		}
		if !known && (c.Op == journal.OpAppend || c.Op == journal.OpOsIndications) {
			note(map[kind]int{kindBoot: 1, kindSecureBoot: 7}[k], c.Label+": the value it appends to is unknown")
		}
		after, err := c.After(cur)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Label, err)
		}
		vs.known[c.Var] = after
		changed[c.Var] = true
	}
	logVals := m.logValues()
	for n := range changed {
		if old, ok := logVals[n]; ok && sameValue(old, vs.known[n]) {
			delete(changed, n) // set to the value it has
		}
	}
	next, err := m.assemble(vs, changed, cfg.image, note)
	if err != nil {
		return nil, err
	}
	return m.result(next, unpred, cfg.image != nil)
}

// edits are the changes to the current log: events inserted before an
// event, events replacing it, events dropped.
type edits struct {
	before, replace map[int][]tpm.Event
	drop            map[int]bool
}

// assemble builds the predicted log's events.
func (m *model) assemble(vs *values, changed map[efi.Name]bool, img *Image, note func(int, string)) ([]tpm.Event, error) {
	ed := &edits{before: map[int][]tpm.Event{}, replace: map[int][]tpm.Event{}, drop: map[int]bool{}}
	cfg, why, err := m.pcr7Config(vs, changed)
	if err != nil {
		return nil, err
	}
	if why != "" {
		note(7, why)
	} else {
		for i, ce := range m.config {
			ed.replace[ce.idx] = []tpm.Event{cfg[i]}
		}
	}
	if oldPK, newPK := present(m.logValues()[efi.PK]), present(vs.known[efi.PK]); oldPK != newPK {
		note(7, "PK is enrolled or removed: the Secure Boot mode changes, and SecureBoot at the next boot depends on the platform")
	}
	boot, why, err := m.pcr1(vs)
	if err != nil {
		return nil, err
	}
	switch {
	case why != "":
		note(1, why)
	case len(m.boot) > 0:
		ed.replace[m.boot[0].idx] = boot
		for _, b := range m.boot[1:] {
			ed.drop[b.idx] = true
		}
	case len(boot) > 0 && m.sep[1] < 0:
		note(1, "the log has no PCR 1 separator to place the new boot variables before")
	case len(boot) > 0:
		ed.before[m.sep[1]] = boot
	}
	if err := m.authority(vs, changed, img, ed, note); err != nil {
		return nil, err
	}
	if img != nil {
		if err := m.image(img, ed, note); err != nil {
			return nil, err
		}
	}
	var out []tpm.Event
	for i, e := range m.log.Events {
		out = append(out, ed.before[i]...)
		if r, ok := ed.replace[i]; ok {
			out = append(out, r...)
		} else if !ed.drop[i] {
			out = append(out, e)
		}
	}
	return out, nil
}

func present(v *efi.Variable) bool { return v != nil && len(v.Data) > 0 }

// describeValue says what a variable holds, for messages.
func describeValue(v *efi.Variable) string {
	if v == nil {
		return "absent"
	}
	return fmt.Sprintf("%d bytes", len(v.Data))
}

// sameValue compares the data of two variables (nil: absent).
func sameValue(a, b *efi.Variable) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(a.Data, b.Data)
}

// secureBootOn reports whether the current log measured SecureBoot = 1.
func (m *model) secureBootOn() bool {
	v := m.logValues()[efi.SecureBoot]
	return v != nil && len(v.Data) == 1 && v.Data[0] == 1
}

// image replaces the boot application and what it measured with img.
func (m *model) image(img *Image, ed *edits, note func(int, string)) error {
	if m.bootApp < 0 {
		return fmt.Errorf("%w: no boot application after %q on PCR 4: the log is not from a UEFI boot of a boot option", ErrLog, actionCalling)
	}
	for _, a := range m.banks {
		if _, ok := img.App[a]; !ok {
			return fmt.Errorf("%s: no %s digest for the image", img.Name, a)
		}
		for _, e := range img.Events {
			if _, ok := e.Digests[a]; !ok {
				return fmt.Errorf("%s: no %s digest for its PCR %d event", img.Name, a, e.PCR)
			}
		}
	}
	if !m.secureBootOn() {
		why := "without Secure Boot systemd-stub takes the boot option's load options and its kernel is loaded and measured by the firmware: not modelled"
		note(4, why)
		note(9, why)
		note(12, why)
	}
	if !img.EmbeddedCmdline {
		why := img.Name + " has no .cmdline: the command line comes from the boot option's load options"
		note(9, why)
		note(12, why)
	}
	app := m.log.Events[m.bootApp]
	app.Digests = img.App
	ed.replace[m.bootApp] = append([]tpm.Event{app}, img.Events...)
	for i := m.bootApp + 1; i < len(m.log.Events); i++ {
		switch m.log.Events[i].PCR {
		case 4, 8, 9, 11, 12, 13, 14:
			ed.drop[i] = true // measured by the current boot image and what it started
		}
	}
	return nil
}

// result replays the predicted events and compares with the current log.
func (m *model) result(next []tpm.Event, unpred map[int]string, image bool) (*Prediction, error) {
	for i := range next {
		next[i].Index = i + 1
	}
	nl := &tpm.EventLog{Format: m.log.Format, SpecID: m.log.SpecID, HeaderDigest: m.log.HeaderDigest, Events: next}
	cur, err := m.log.Replay(tpm.WithBanks(m.banks...))
	if err != nil {
		return nil, err
	}
	nv, err := nl.Replay(tpm.WithBanks(m.banks...))
	if err != nil {
		return nil, err
	}
	p := &Prediction{Banks: m.banks, Log: nl, PCRs: tpm.NewPCRs(), Current: cur, Changed: []int{}, Unpredictable: unpred}
	covered := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true}
	if image {
		covered[11], covered[12] = true, true // systemd-stub's, zero when it measures nothing there
	}
	for _, a := range m.banks {
		for _, i := range append(cur.Indices(a), nv.Indices(a)...) {
			covered[i] = true
		}
	}
	var pcrs []int
	for i := range covered {
		pcrs = append(pcrs, i)
	}
	sort.Ints(pcrs)
	for _, i := range pcrs {
		diff := false
		for _, a := range m.banks {
			c, ok := cur.Get(a, i)
			if !ok {
				c = tpm.ZeroDigest(a)
			}
			v, ok := nv.Get(a, i)
			if !ok {
				v = tpm.ZeroDigest(a)
			}
			if _, bad := unpred[i]; !bad {
				p.PCRs.Set(a, i, v)
			}
			diff = diff || !v.Equal(c)
		}
		if _, bad := unpred[i]; diff && !bad {
			p.Changed = append(p.Changed, i)
		}
	}
	return p, nil
}

// Expected is the prediction in the shape `slkit seal --pcr-values` and
// `update prepare --next-pcrs` read.
func (p *Prediction) Expected() tpm.Expected {
	var evs []tpm.Event
	for _, e := range p.Log.Events {
		if e.Type != tpm.EvNoAction {
			if _, bad := p.Unpredictable[e.PCR]; !bad {
				evs = append(evs, e)
			}
		}
	}
	return tpm.Expected{PCRs: *p.PCRs, Events: evs}
}

// MarshalJSON writes the tpm.Expected shape plus "changed" and
// "unpredictable".
func (p *Prediction) MarshalJSON() ([]byte, error) {
	x, err := json.Marshal(p.Expected())
	if err != nil {
		return nil, err
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(x, &out); err != nil {
		return nil, err
	}
	out["changed"], _ = json.Marshal(p.Changed)
	u := map[string]string{}
	for k, v := range p.Unpredictable {
		u[fmt.Sprint(k)] = v
	}
	out["unpredictable"], _ = json.Marshal(u)
	return json.Marshal(out)
}
