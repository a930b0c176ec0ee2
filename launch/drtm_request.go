package launch

import (
	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/slaunch"
)

// DRTMRequest is how `slkit launch` is asked for a dynamic launch, as
// plain values (its flags --drtm, --host-channel, --dce and --platform;
// "" when not given). Options checks it, reads its files and chooses the
// backend; its errors name those flags.
type DRTMRequest struct {
	// Backend is the backend: "" for none (an entry with require_drtm
	// is then refused), "emulated" (EmulatedDRTMAt) or "hardware"
	// (HardwareDRTM).
	Backend string
	// HostChannel is the emulated backend's host channel, a serial device
	// or a unix socket ("" for slaunch.DefaultHostChannel).
	HostChannel string
	// DCE is the hardware backend's SINIT ACM or AMD SKL file
	// (slaunch.DCEInput; required with it).
	DCE string
	// Platform is a recording of register values the hardware backend
	// probes instead of this machine (slaunch.OpenPlatform; "" for the
	// machine).
	Platform string
}

// Options checks r and returns the launch's options: WithDRTM of the
// backend (none without one). A value given for another backend, a
// missing DCE file or an unknown backend is an errkind.Input error; a
// file that cannot be read is an *fsys.InputError naming it.
func (r DRTMRequest) Options() ([]LaunchOption, error) {
	for _, f := range []struct {
		flag, value, backend string
	}{{"host-channel", r.HostChannel, "emulated"}, {"dce", r.DCE, "hardware"}, {"platform", r.Platform, "hardware"}} {
		if f.value != "" && r.Backend != f.backend {
			return nil, errkind.Errorf(errkind.Input, "launch: --%s needs --drtm %s", f.flag, f.backend)
		}
	}
	switch r.Backend {
	case "":
		return nil, nil
	case "emulated":
		hc := r.HostChannel
		if hc == "" {
			hc = slaunch.DefaultHostChannel
		}
		return []LaunchOption{WithDRTM(EmulatedDRTMAt(hc))}, nil
	case "hardware":
		if r.DCE == "" {
			return nil, errkind.Errorf(errkind.Input, "launch: --dce is required")
		}
		dce, err := slaunch.DCEInput.Read(r.DCE)
		if err != nil {
			return nil, err
		}
		p, err := slaunch.OpenPlatform(r.Platform)
		if err != nil {
			return nil, err
		}
		return []LaunchOption{WithDRTM(HardwareDRTM(p, dce))}, nil
	default:
		return nil, errkind.Errorf(errkind.Input, "launch: --drtm %q: want emulated or hardware", r.Backend)
	}
}
