package qemu

import (
	"fmt"
	"sync"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/slaunch/hostchan"
)

// ErrDCERefused is the error of a DCE request the host refuses: a DCE
// event that is not armed, a locality change outside the launch it
// belongs to, a leave without a launch.
var ErrDCERefused = errkind.New(errkind.Verify, "DCE request refused")

// DCE is the rig host's emulated dynamic-launch service: the host-channel
// verbs tpm-hash, tpm-locality and dce-leave, backed by the Mux, allowed
// only when hardware would allow them (slaunch/README.md, "When a DCE
// event may happen").
//
// A CPU starts a dynamic launch (SENTER, SKINIT) and the TPM sees the
// _TPM_Hash_Start/Data/End sequence from the CPU, never from software;
// here the guest asks the host for it, so the host decides when it may
// happen. The service is armed for exactly one DCE event:
//
//   - when the VM starts, and at every platform reset the host observes
//     (QEMU's CMD_INIT on the control channel, which QEMU sends when the
//     machine resets and a guest cannot send);
//   - when the launched OS leaves the launch (dce-leave, the analogue of
//     GETSEC[SEXIT]: `slkit drtm leave`), so that the pre-launch
//     environment it kexecs into can launch again.
//
// tpm-hash uses the arming (it disarms before it runs, and a failed
// sequence does not give it back); tpm-locality holds the guest's
// commands at a locality once, for the launch that the last tpm-hash
// started; dce-leave ends that launch: the locality goes back to the one
// QEMU's TIS asked for (so PCR 17–22 refuse extends again) and the service
// is armed again. Everything else is refused, with an ErrDCERefused to the
// guest, and every decision is logged.
type DCE struct {
	mux *Mux
	log func(string)

	mu       sync.Mutex
	armed    bool
	why      string // what armed it, or what used the last arming
	launched bool   // a DCE event happened and the launch was not left
	locDone  bool   // that launch's locality change happened
	lines    []string
}

// NewDCE returns the service on m, armed (the VM is about to start) and
// re-armed at every CMD_INIT that m forwards. log (optional) receives
// every decision as one line.
func NewDCE(m *Mux, log func(string)) *DCE {
	d := &DCE{mux: m, log: log}
	d.arm("the VM started")
	m.OnInit(func() { d.arm("platform reset (QEMU sent CMD_INIT)") })
	return d
}

// Log returns every line logged so far.
func (d *DCE) Log() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.lines...)
}

// Register makes s answer the DCE verbs.
func (d *DCE) Register(s *hostchan.Server) {
	s.Handle(hostchan.VerbTPMHash, d.hash)
	s.Handle(hostchan.VerbTPMLocality, d.locality)
	s.Handle(hostchan.VerbDCELeave, d.leave)
}

func (d *DCE) logf(format string, a ...any) {
	l := "dce: " + fmt.Sprintf(format, a...)
	d.lines = append(d.lines, l)
	if d.log != nil {
		d.log(l)
	}
}

// refuse logs and returns a refusal (the caller holds d.mu).
func (d *DCE) refuse(verb, format string, a ...any) error {
	err := fmt.Errorf("%w: %s: %s", ErrDCERefused, verb, fmt.Sprintf(format, a...))
	d.logf("REFUSED the guest's %s: %s", verb, fmt.Sprintf(format, a...))
	return err
}

func (d *DCE) arm(why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.armed, d.launched, d.locDone, d.why = true, false, false, why
	d.logf("armed for one DCE event: %s", why)
}

// hash is tpm-hash: the DCE event.
func (d *DCE) hash(blob []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.armed {
		return nil, d.refuse(hostchan.VerbTPMHash, "no DCE event is armed (%s; one DCE event per platform reset, and one after the launched OS leaves the launch)", d.why)
	}
	d.armed, d.launched, d.locDone, d.why = false, true, false, "the last arming was used by the DCE event of the current launch"
	if err := d.mux.Hash(blob); err != nil {
		d.logf("DCE event over a %d-byte blob failed (the arming is used): %v", len(blob), err)
		return nil, err
	}
	d.logf("DCE event: _TPM_Hash_Start/Data/End over the %d-byte DCE blob (PCR 17-22 reset); disarmed", len(blob))
	return nil, nil
}

// locality is tpm-locality: the launch's locality change.
func (d *DCE) locality(p []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case len(p) != 1 || p[0] > 4:
		return nil, d.refuse(hostchan.VerbTPMLocality, "want one byte, a locality 0-4; got %d bytes", len(p))
	case !d.launched:
		return nil, d.refuse(hostchan.VerbTPMLocality, "no dynamic launch is in progress: the locality change belongs to the launch a DCE event starts")
	case d.locDone:
		return nil, d.refuse(hostchan.VerbTPMLocality, "this launch's locality change already happened")
	}
	d.locDone = true
	if err := d.mux.PostLaunchLocality(p[0]); err != nil {
		return nil, err
	}
	d.logf("the launch's TPM commands run at locality %d until it is left or the platform resets", p[0])
	return nil, nil
}

// leave is dce-leave: the launched OS left the launch.
func (d *DCE) leave([]byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.launched {
		return nil, d.refuse(hostchan.VerbDCELeave, "no dynamic launch to leave")
	}
	if err := d.mux.ReleaseLocality(); err != nil {
		d.logf("the launched OS asked to leave, but the launch's locality could not be released: %v", err)
		return nil, fmt.Errorf("release the launch's locality: %w", err)
	}
	d.armed, d.launched, d.locDone, d.why = true, false, false, "the launched OS left the launch"
	d.logf("the launched OS left the launch: locality released; armed for one DCE event")
	return nil, nil
}
