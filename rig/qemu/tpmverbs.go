package qemu

import (
	"fmt"

	"github.com/slkit/slkit/slaunch/hostchan"
)

// Host-channel verbs the rig answers when it runs a Mux (see package
// hostchan for the guest side).
const (
	// VerbTPMHash runs the _TPM_Hash sequence over the payload (the DCE
	// image a CPU would stream to the TPM in SENTER/SKINIT): Mux.Hash.
	VerbTPMHash = hostchan.VerbTPMHash
	// VerbLocality holds the guest's TPM commands at the locality in the
	// payload's single byte: Mux.PostLaunchLocality.
	VerbLocality = hostchan.VerbTPMLocality
)

// RegisterVerbs makes s answer the TPM verbs through m.
func (m *Mux) RegisterVerbs(s *hostchan.Server) {
	s.Handle(VerbTPMHash, func(p []byte) ([]byte, error) { return nil, m.Hash(p) })
	s.Handle(VerbLocality, func(p []byte) ([]byte, error) {
		if len(p) != 1 {
			return nil, fmt.Errorf("%s: want one byte, a locality 0-4; got %d bytes", VerbLocality, len(p))
		}
		return nil, m.PostLaunchLocality(p[0])
	})
}
