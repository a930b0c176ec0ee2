package qemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/slaunch/hostchan"
	"github.com/slkit/slkit/tpm"
)

// fakeQEMU plays QEMU's part on the mux's socket: it hands swtpm a data
// channel (one end of a socketpair) with SET_DATAFD, initialises the TPM
// and sends TPM commands over the other end.
type fakeQEMU struct {
	t    *testing.T
	ctl  *net.UnixConn
	data *os.File
}

func dialFakeQEMU(t *testing.T, m *Mux) *fakeQEMU {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: m.Path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	q := &fakeQEMU{t: t, ctl: c, data: os.NewFile(uintptr(fds[0]), "data")}
	t.Cleanup(func() { q.data.Close() })
	hdr := binary.BigEndian.AppendUint32(nil, uint32(swtpm.CmdSetDataFD))
	if _, _, err := c.WriteMsgUnix(hdr, unix.UnixRights(fds[1]), nil); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
	q.expectOK(4)
	q.ctrl(swtpm.CmdInit, []byte{0, 0, 0, 0}, 4)
	if _, err := (tpm2.Startup{StartupType: tpm2.TPMSUClear}).Execute(q.tpm()); err != nil {
		t.Fatalf("Startup over the passed data channel: %v", err)
	}
	return q
}

func (q *fakeQEMU) ctrl(cmd swtpm.Cmd, body []byte, respLen int) []byte {
	q.t.Helper()
	req := append(binary.BigEndian.AppendUint32(nil, uint32(cmd)), body...)
	if _, err := q.ctl.Write(req); err != nil {
		q.t.Fatal(err)
	}
	return q.expectOK(respLen)
}

func (q *fakeQEMU) expectOK(n int) []byte {
	q.t.Helper()
	b := make([]byte, n)
	if _, err := readFull(q.ctl, b); err != nil {
		q.t.Fatal(err)
	}
	return b
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (q *fakeQEMU) tpm() transport.TPM { return transport.FromReadWriter(q.data) }

func startMux(t *testing.T, opts ...swtpm.Option) (*swtpm.Process, *Mux) {
	t.Helper()
	s := startSwtpm(t, filepath.Join(t.TempDir(), "tpm"), opts...)
	m, err := NewMux(s.CtrlPath, filepath.Join(t.TempDir(), "mux.sock"))
	if err != nil {
		t.Fatal(err)
	}
	go m.Serve()
	t.Cleanup(func() { m.Close() })
	return s, m
}

// checkVector reads PCR17/18 over t and checks the "1234" vector.
func checkVector(t *testing.T, tp transport.TPM) {
	t.Helper()
	p, err := tpm.ReadBanks(tp, []tpm.Alg{tpm.SHA1, tpm.SHA256}, []int{17, 18})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []tpm.Alg{tpm.SHA1, tpm.SHA256} {
		v17, _ := p.Get(a, 17)
		v18, _ := p.Get(a, 18)
		if v17.String() != vector1234(a.String()) {
			t.Errorf("%s PCR17 = %s, want %s", a, v17, vector1234(a.String()))
		}
		if !bytes.Equal(v18, make([]byte, a.Size())) {
			t.Errorf("%s PCR18 = %s, want zero after HASH_END", a, v18)
		}
	}
}

// TestMuxVectorWithoutQEMU: with no QEMU connected, the host runs the
// _TPM_Hash sequence through the mux and reads PCR17 over swtpm's own data
// channel; then a guest-side host-channel client asks for the same over
// the TPM verbs.
func TestMuxVectorWithoutQEMU(t *testing.T) {
	s, m := startMux(t, swtpm.WithDataSocket())
	c, err := tpm.Open("swtpm:unix:" + s.DataPath)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := m.Hash([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	checkVector(t, c)

	guest, host := net.Pipe()
	defer guest.Close()
	srv := hostchan.NewServer()
	NewDCE(m, nil).Register(srv)
	go srv.Serve(host)
	client := hostchan.NewClient(guest)
	blob := bytes.Repeat([]byte("DCE!"), 3000) // 12000 bytes: three HASH_DATA chunks
	if err := client.TPMHash(blob); err != nil {
		t.Fatal(err)
	}
	p, err := tpm.ReadBanks(c, []tpm.Alg{tpm.SHA256}, []int{17})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(blob)
	want := sha256.Sum256(append(make([]byte, 32), h[:]...))
	if got, _ := p.Get(tpm.SHA256, 17); !bytes.Equal(got, want[:]) {
		t.Fatalf("PCR17 after tpm-hash of %d bytes = %x, want %x", len(blob), got, want)
	}
	if err := client.TPMLocality(2); err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ExtendData(c, 17, []tpm.Alg{tpm.SHA256}, strings.NewReader("dlme")); err != nil {
		t.Fatalf("PCR17 extend after tpm-locality 2: %v", err)
	}
	if _, err := client.Call(VerbLocality, []byte{1, 2}); !errors.Is(err, hostchan.ErrRemote) {
		t.Fatalf("tpm-locality with two bytes: %v", err)
	}
	if _, err := m.Inject(swtpm.CmdGetStateBlob, make([]byte, 12)); err == nil {
		t.Fatal("the host could inject GET_STATEBLOB")
	}
}

func TestMuxForwardsDataFDAndHashes(t *testing.T) {
	_, m := startMux(t)
	q := dialFakeQEMU(t, m)
	// The DRTM vector, injected by the host while "QEMU" holds the channel.
	if err := m.Hash([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	checkVector(t, q.tpm())
	// GET_CAPABILITY is answered (8 bytes) and hashing is advertised.
	caps := binary.BigEndian.Uint64(q.ctrl(swtpm.CmdGetCapability, nil, 8))
	if caps&(1<<4) == 0 || caps&(1<<12) == 0 {
		t.Fatalf("capabilities %#x lack HASHING or SET_DATAFD", caps)
	}
	// State blobs are refused (the result alone, TPM_FAIL).
	if r := q.ctrl(swtpm.CmdGetStateBlob, make([]byte, 12), 4); binary.BigEndian.Uint32(r) != resFail {
		t.Fatalf("GET_STATEBLOB answered %x", r)
	}
	// A host injection in between that moves swtpm's locality (here
	// SET_LOCALITY 2 itself) leaves QEMU's locality as it was: an extend of
	// PCR17 at locality 0 is still refused.
	if r, err := m.Inject(swtpm.CmdSetLocality, []byte{2}); err != nil || binary.BigEndian.Uint32(r) != 0 {
		t.Fatalf("injected SET_LOCALITY: %x %v", r, err)
	}
	if _, err := tpm.ExtendData(q.tpm(), 17, []tpm.Alg{tpm.SHA256}, strings.NewReader("x")); !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("PCR17 extend at QEMU's locality 0 after an injection: %v", err)
	}
}

func TestMuxPostLaunchLocality(t *testing.T) {
	_, m := startMux(t)
	q := dialFakeQEMU(t, m)
	if err := m.Hash([]byte("dce")); err != nil {
		t.Fatal(err)
	}
	banks := []tpm.Alg{tpm.SHA256}
	extend17 := func() error {
		_, err := tpm.ExtendData(q.tpm(), 17, banks, strings.NewReader("dlme"))
		return err
	}
	q.ctrl(swtpm.CmdSetLocality, []byte{0}, 4)
	if err := extend17(); !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("PCR17 extend at locality 0: %v, want TPM_RC_LOCALITY", err)
	}
	if err := m.PostLaunchLocality(2); err != nil {
		t.Fatal(err)
	}
	// QEMU asks for locality 0 again, as QEMU does, with the union's
	// padding (4 bytes); the mux holds it at 2.
	q.ctrl(swtpm.CmdSetLocality, []byte{0, 0, 0, 0}, 4)
	if err := extend17(); err != nil {
		t.Fatalf("PCR17 extend after PostLaunchLocality(2): %v", err)
	}
	// A platform reset (INIT) ends it, and the firmware's Startup runs at
	// the locality QEMU believes in (0) without QEMU saying it again.
	q.ctrl(swtpm.CmdInit, []byte{0, 0, 0, 0}, 4)
	if _, err := (tpm2.Startup{StartupType: tpm2.TPMSUClear}).Execute(q.tpm()); err != nil {
		t.Fatalf("Startup after INIT: %v", err)
	}
	if err := extend17(); !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("after INIT: %v, want TPM_RC_LOCALITY", err)
	}
}

// BenchmarkMuxHash measures the host's _TPM_Hash sequence through the mux
// (HASH_START, HASH_DATA in 4 KiB chunks, HASH_END, locality restore)
// for a 64 KiB DCE image (the largest AMD SLB).
func BenchmarkMuxHash(b *testing.B) {
	dir := b.TempDir()
	s, err := swtpm.Start(context.Background(), filepath.Join(dir, "tpm"), swtpm.WithDataSocket())
	if err != nil {
		b.Skip(err)
	}
	defer s.Close()
	m, err := NewMux(s.CtrlPath, filepath.Join(dir, "mux.sock"))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	go m.Serve()
	blob := bytes.Repeat([]byte{0xcc}, 64<<10)
	b.SetBytes(int64(len(blob)))
	for b.Loop() {
		if err := m.Hash(blob); err != nil {
			b.Fatal(err)
		}
	}
}
