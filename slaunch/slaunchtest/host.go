package slaunchtest

import (
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/slkit/slkit/slaunch/hostchan"
)

// HostTPM is the rig host's hold on the guest's TPM: swtpm's control
// channel (*swtpm.Ctrl), as qemu.Mux drives it.
type HostTPM interface {
	// Hash runs HASH_START, HASH_DATA and HASH_END over data.
	Hash(data []byte) error
	// SetLocality sets the locality of the following TPM commands.
	SetLocality(loc uint8) error
}

// Host is a rig host for tests without QEMU: it answers the host
// channel's tpm-hash, tpm-locality and dce-leave verbs
// (hostchan.VerbTPMHash, VerbTPMLocality, VerbDCELeave) on TPM as the
// rig's DCE service does, without its arming (qemu.DCE is tested with
// QEMU's side of the mux), and can be told to misbehave.
type Host struct {
	TPM HostTPM
	// RefuseHash answers tpm-hash with an error, as a rig without the
	// Mux does ("no handler").
	RefuseHash bool
	// FailAfterHash runs the hash and then answers with an error: a host
	// that reports a failure after the DCE event happened.
	FailAfterHash bool
	// IgnoreLocality answers tpm-locality with success but does nothing.
	IgnoreLocality bool
	// RefuseLocality answers tpm-locality with an error, doing nothing.
	RefuseLocality bool
	// HashInstead, when set, is hashed in place of the guest's blob: a
	// host that lies about the DCE.
	HashInstead []byte

	mu     sync.Mutex
	hashed [][]byte
	locs   []uint8
	leaves int
}

// Leaves returns how many times the guest left the launch (dce-leave).
func (h *Host) Leaves() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leaves
}

// Hashed returns the blobs the guest asked the host to hash, in order.
func (h *Host) Hashed() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.hashed...)
}

// Localities returns the localities the guest asked for, in order.
func (h *Host) Localities() []uint8 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]uint8(nil), h.locs...)
}

// Server returns a host-channel server answering the TPM verbs.
func (h *Host) Server() *hostchan.Server {
	s := hostchan.NewServer()
	s.Handle(hostchan.VerbTPMHash, func(p []byte) ([]byte, error) {
		h.mu.Lock()
		h.hashed = append(h.hashed, append([]byte(nil), p...))
		h.mu.Unlock()
		if h.RefuseHash {
			return nil, errors.New(`no handler for "tpm-hash"`)
		}
		if h.HashInstead != nil {
			p = h.HashInstead
		}
		if err := h.TPM.Hash(p); err != nil || !h.FailAfterHash {
			return nil, err
		}
		return nil, errors.New("connection reset after HASH_END")
	})
	s.Handle(hostchan.VerbTPMLocality, func(p []byte) ([]byte, error) {
		if len(p) != 1 {
			return nil, errors.New("tpm-locality: want one byte")
		}
		h.mu.Lock()
		h.locs = append(h.locs, p[0])
		h.mu.Unlock()
		if h.RefuseLocality {
			return nil, errors.New("refused")
		}
		if h.IgnoreLocality {
			return nil, nil
		}
		return nil, h.TPM.SetLocality(p[0])
	})
	s.Handle(hostchan.VerbDCELeave, func([]byte) ([]byte, error) {
		h.mu.Lock()
		h.leaves++
		h.mu.Unlock()
		// The launch's locality goes back to the guest's own, 0.
		return nil, h.TPM.SetLocality(0)
	})
	return s
}

// Pipe serves the host on one end of an in-memory pipe and returns the
// guest's client on the other; both are closed in t.Cleanup.
func (h *Host) Pipe(t testing.TB) (*hostchan.Client, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go h.Server().Serve(b)
	return hostchan.NewClient(a), a
}

// Listen serves the host on a unix socket at path (what a guest's
// `slkit launch --host-channel PATH` dials), one connection at a time,
// until t's cleanup.
func (h *Host) Listen(t testing.TB, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := h.Server()
	done := make(chan struct{})
	var mu sync.Mutex
	var cur net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		if cur != nil {
			cur.Close()
		}
		mu.Unlock()
		<-done
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			cur = c
			mu.Unlock()
			s.Serve(c)
			c.Close()
		}
	}()
}
