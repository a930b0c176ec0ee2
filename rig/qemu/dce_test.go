package qemu

import (
	"crypto/sha256"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/slaunch/hostchan"
	"github.com/slkit/slkit/tpm"
)

// dceRig is a DCE service on a mux with swtpm behind it and a fake QEMU in
// front: the guest's host-channel client and QEMU's control channel.
type dceRig struct {
	q      *fakeQEMU
	c      *hostchan.Client
	mu     sync.Mutex
	logged []string
}

func startDCE(t *testing.T) *dceRig {
	t.Helper()
	_, m := startMux(t)
	r := &dceRig{}
	d := NewDCE(m, func(l string) { r.mu.Lock(); r.logged = append(r.logged, l); r.mu.Unlock() })
	r.q = dialFakeQEMU(t, m) // sends CMD_INIT: armed again, as at every platform reset
	guest, host := net.Pipe()
	t.Cleanup(func() { guest.Close(); host.Close() })
	srv := hostchan.NewServer()
	d.Register(srv)
	go srv.Serve(host)
	r.c = hostchan.NewClient(guest)
	if got := d.Log(); len(got) != 2 || !strings.Contains(got[0], "the VM started") || !strings.Contains(got[1], "CMD_INIT") {
		t.Fatalf("log after start: %q", got)
	}
	return r
}

// refused checks that err is the host's refusal of verb naming why, and
// that the host logged it.
func (r *dceRig) refused(t *testing.T, err error, verb, why string) {
	t.Helper()
	if !errors.Is(err, hostchan.ErrRemote) || !strings.Contains(err.Error(), "DCE request refused: "+verb+": "+why) {
		t.Fatalf("%s: %v, want a refusal naming %q", verb, err, why)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if last := r.logged[len(r.logged)-1]; !strings.HasPrefix(last, "dce: REFUSED the guest's "+verb+": "+why) {
		t.Fatalf("host log's last line %q does not record the refusal", last)
	}
}

// pcr17 reads PCR17 (sha256) over QEMU's data channel.
func (r *dceRig) pcr17(t *testing.T) tpm.Digest {
	t.Helper()
	p, err := tpm.ReadBanks(r.q.tpm(), []tpm.Alg{tpm.SHA256}, []int{17})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := p.Get(tpm.SHA256, 17)
	return v
}

func (r *dceRig) extend17(t *testing.T) error {
	t.Helper()
	_, err := tpm.ExtendData(r.q.tpm(), 17, []tpm.Alg{tpm.SHA256}, strings.NewReader("dlme"))
	return err
}

// afterHash is PCR17 right after _TPM_Hash over blob: H(0³² ‖ H(blob)).
func afterHash(blob string) []byte {
	h := sha256.Sum256([]byte(blob))
	v := sha256.Sum256(append(make([]byte, 32), h[:]...))
	return v[:]
}

// TestDCEArming: one DCE event per arming; the locality change only for
// the launch it belongs to, once; a leave re-arms for exactly one more
// event and gives the locality back; a platform reset (QEMU's CMD_INIT)
// re-arms. Every refusal reaches the guest as an error and the host log.
func TestDCEArming(t *testing.T) {
	r := startDCE(t)
	r.refused(t, r.c.TPMLocality(2), VerbLocality, "no dynamic launch is in progress")
	r.refused(t, r.c.DCELeave(), VerbDCELeave, "no dynamic launch to leave")

	if err := r.c.TPMHash([]byte("launch 1")); err != nil {
		t.Fatalf("the armed DCE event: %v", err)
	}
	if got := r.pcr17(t); !got.Equal(afterHash("launch 1")) {
		t.Fatalf("PCR17 after the DCE event = %s", got)
	}
	if err := r.c.TPMLocality(2); err != nil {
		t.Fatalf("the launch's locality change: %v", err)
	}
	if err := r.extend17(t); err != nil {
		t.Fatalf("PCR17 extend at the launch's locality: %v", err)
	}
	launched := r.pcr17(t)
	// A launched OS (or anything in it) asks for another DCE event to reset
	// PCR 17 and replay the legitimate extends: refused, PCR 17 untouched.
	r.refused(t, r.c.TPMHash([]byte("launch 1")), VerbTPMHash, "no DCE event is armed")
	r.refused(t, r.c.TPMLocality(3), VerbLocality, "this launch's locality change already happened")
	if got := r.pcr17(t); !got.Equal(launched) {
		t.Fatalf("a refused DCE event changed PCR17: %s, was %s", got, launched)
	}

	// Leaving gives locality 2 up and arms exactly one more event.
	if err := r.c.DCELeave(); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if err := r.extend17(t); !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("PCR17 extend after the leave: %v, want TPM_RC_LOCALITY", err)
	}
	r.refused(t, r.c.DCELeave(), VerbDCELeave, "no dynamic launch to leave")
	r.refused(t, r.c.TPMLocality(2), VerbLocality, "no dynamic launch is in progress")
	if err := r.c.TPMHash([]byte("launch 2")); err != nil {
		t.Fatalf("the DCE event after the leave: %v", err)
	}
	if got := r.pcr17(t); !got.Equal(afterHash("launch 2")) {
		t.Fatalf("PCR17 after the relaunch = %s, want it reset and hashed", got)
	}
	if err := r.c.TPMLocality(2); err != nil {
		t.Fatal(err)
	}
	r.refused(t, r.c.TPMHash([]byte("launch 3")), VerbTPMHash, "no DCE event is armed")

	// A platform reset arms again and ends the launch's locality.
	r.q.ctrl(swtpm.CmdInit, []byte{0, 0, 0, 0}, 4)
	if _, err := (tpm2.Startup{StartupType: tpm2.TPMSUClear}).Execute(r.q.tpm()); err != nil {
		t.Fatal(err)
	}
	r.refused(t, r.c.TPMLocality(2), VerbLocality, "no dynamic launch is in progress")
	if err := r.c.TPMHash([]byte("after reset")); err != nil {
		t.Fatalf("the DCE event after a platform reset: %v", err)
	}
	if got := r.pcr17(t); !got.Equal(afterHash("after reset")) {
		t.Fatalf("PCR17 = %s", got)
	}
	r.refused(t, r.c.TPMHash([]byte("again")), VerbTPMHash, "no DCE event is armed")
	_, err := r.c.Call(VerbLocality, []byte{7})
	r.refused(t, err, VerbLocality, "want one byte, a locality 0-4")
}
