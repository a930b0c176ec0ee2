package slaunch

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
)

// localityTPM is a HostTPM that records the localities it is set to.
type localityTPM struct{ locs []uint8 }

func (l *localityTPM) Hash([]byte) error { return errors.New("no hash here") }
func (l *localityTPM) SetLocality(loc uint8) error {
	l.locs = append(l.locs, loc)
	return nil
}

// TestLazyHost: the channel is opened only by DCELeave, which reaches a
// host listening on a unix socket (it sets locality 0 back); without a
// host there, DCELeave is a *NoDRTMError naming the path and Close has
// nothing to close.
func TestLazyHost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host.sock")
	missing := &LazyHost{Path: path}
	var nd *NoDRTMError
	if err := missing.DCELeave(); !errors.As(err, &nd) {
		t.Fatalf("no host: %v", err)
	}
	if err := missing.Close(); err != nil {
		t.Fatalf("close of a channel never opened: %v", err)
	}
	ltpm := &localityTPM{}
	h := &slaunchtest.Host{TPM: ltpm}
	h.Listen(t, path)
	lazy := &LazyHost{Path: path}
	if err := lazy.DCELeave(); err != nil {
		t.Fatal(err)
	}
	if err := lazy.Close(); err != nil {
		t.Fatal(err)
	}
	if h.Leaves() != 1 || len(ltpm.locs) != 1 || ltpm.locs[0] != 0 {
		t.Fatalf("the host saw %d leaves, localities %v", h.Leaves(), ltpm.locs)
	}
}
