package qemu

import "github.com/slkit/slkit/slaunch/hostchan"

// Host-channel verbs the rig answers when it runs a Mux (see package
// hostchan for the guest side), through the DCE service (dce.go), which
// allows each only when hardware would.
const (
	// VerbTPMHash runs the _TPM_Hash sequence over the payload (the DCE
	// image a CPU would stream to the TPM in SENTER/SKINIT): Mux.Hash,
	// once per arming.
	VerbTPMHash = hostchan.VerbTPMHash
	// VerbLocality holds the guest's TPM commands at the locality in the
	// payload's single byte, once per launch: Mux.PostLaunchLocality.
	VerbLocality = hostchan.VerbTPMLocality
	// VerbDCELeave ends the launch: Mux.ReleaseLocality, and the service
	// is armed again.
	VerbDCELeave = hostchan.VerbDCELeave
)
