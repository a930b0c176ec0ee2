package qemu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/rig/swtpm"
)

// fakeSwtpm accepts the mux's control connection and answers each message
// with the next canned response, recording what it received.
type fakeSwtpm struct {
	ln    *net.UnixListener
	conn  chan *net.UnixConn
	got   chan received
	reply chan []byte
}

type received struct {
	data []byte
	fds  []int
}

func newFakeSwtpm(t *testing.T) (*fakeSwtpm, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-ctrl.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSwtpm{ln: ln, conn: make(chan *net.UnixConn, 1), got: make(chan received, 16), reply: make(chan []byte, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		defer c.Close()
		for {
			b := make([]byte, 1<<16)
			oob := make([]byte, unix.CmsgSpace(4*8))
			n, oobn, _, _, err := c.ReadMsgUnix(b, oob)
			if err != nil || n == 0 {
				return
			}
			r := received{data: b[:n]}
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, m := range msgs {
					if fds, err := unix.ParseUnixRights(&m); err == nil {
						r.fds = append(r.fds, fds...)
					}
				}
			}
			f.got <- r
			if _, err := c.Write(<-f.reply); err != nil {
				return
			}
		}
	}()
	return f, p
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMuxFraming drives the mux with QEMU's messages against a fake swtpm.
// The bytes are written out by hand from tpm_ioctl.h (command codes,
// big-endian ptm_* request and response halves) and swtpm's ctrlchannel.c
// (failures are answered with the 4-byte result alone).
func TestMuxFraming(t *testing.T) {
	fake, ctrl := newFakeSwtpm(t)
	m, err := NewMux(ctrl, filepath.Join(t.TempDir(), "mux.sock"))
	if err != nil {
		t.Fatal(err)
	}
	go m.Serve()
	t.Cleanup(func() { m.Close() })
	q, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: m.Path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()

	steps := []struct {
		name    string
		send    []string // QEMU's writes (hex), each one message
		forward string   // what swtpm must receive ("" = nothing)
		reply   string   // what swtpm answers
		want    string   // what QEMU must get
	}{
		{"GET_CAPABILITY: u64 mask, no result field", []string{"00000001"}, "00000001",
			"00000000 0000197f", "00000000 0000197f"},
		{"INIT: u32 init_flags", []string{"00000002 00000000"}, "00000002 00000000", "00000000", "00000000"},
		{"SET_LOCALITY with QEMU's union padding", []string{"00000005 00 000000"}, "00000005 00000000", "00000000", "00000000"},
		{"GET_TPMESTABLISHED: result + bit + padding", []string{"00000004"}, "00000004", "00000000 01000000", "00000000 01000000"},
		{"GET_TPMESTABLISHED failing: result alone", []string{"00000004"}, "00000004", "0000000a", "0000000a"},
		{"SET_BUFFERSIZE: 16-byte response", []string{"00000011 00000000"}, "00000011 00000000",
			"00000000 00001000 00000080 00001000", "00000000 00001000 00000080 00001000"},
		{"SET_BUFFERSIZE refused while running: result alone", []string{"00000011 00001000"}, "00000011 00001000", "0000000a", "0000000a"},
		{"HASH_DATA split over two writes is one message", []string{"00000007 00000004", "31323334"},
			"00000007 00000004 31323334", "00000000", "00000000"},
		{"GET_STATEBLOB is refused, not forwarded", []string{"0000000c 00000000 00000001 00000000"}, "", "", "00000009"},
		{"SET_STATEBLOB is refused and its blob consumed", []string{"0000000d 00000000 00000001 00000003", "aabbcc"}, "", "", "00000009"},
		{"RESET_TPMESTABLISHED: u8 locality", []string{"0000000b 03"}, "0000000b 03", "00000000", "00000000"},
		{"unknown command: forwarded as its message, 4-byte answer", []string{"00000013 00000001"}, "00000013 00000001", "0000000a", "0000000a"},
		{"GET_CONFIG", []string{"0000000f"}, "0000000f", "00000000 00000000", "00000000 00000000"},
	}
	for _, s := range steps {
		for _, w := range s.send {
			if _, err := q.Write(unhex(t, w)); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if s.forward != "" {
			r := <-fake.got
			if !bytes.Equal(r.data, unhex(t, s.forward)) {
				t.Fatalf("%s: swtpm got %x, want %s", s.name, r.data, s.forward)
			}
			fake.reply <- unhex(t, s.reply)
		}
		got := make([]byte, len(unhex(t, s.want)))
		if _, err := io.ReadFull(q, got); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !bytes.Equal(got, unhex(t, s.want)) {
			t.Fatalf("%s: QEMU got %x, want %s", s.name, got, s.want)
		}
	}
	select {
	case r := <-fake.got:
		t.Fatalf("swtpm got an unexpected %x", r.data)
	default:
	}

	// SET_DATAFD: the descriptor arrives with the message and is sent on
	// with it; swtpm's copy is the same socket as QEMU's.
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	qemuEnd := os.NewFile(uintptr(pair[0]), "qemu-data")
	defer qemuEnd.Close()
	if _, _, err := q.WriteMsgUnix(unhex(t, "00000010"), unix.UnixRights(pair[1]), nil); err != nil {
		t.Fatal(err)
	}
	unix.Close(pair[1])
	r := <-fake.got
	if !bytes.Equal(r.data, unhex(t, "00000010")) || len(r.fds) != 1 {
		t.Fatalf("SET_DATAFD: swtpm got %x with %d fds", r.data, len(r.fds))
	}
	fake.reply <- unhex(t, "00000000")
	if _, err := io.ReadFull(q, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	swtpmEnd := os.NewFile(uintptr(r.fds[0]), "swtpm-data")
	defer swtpmEnd.Close()
	if _, err := swtpmEnd.Write([]byte("tpm response")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12)
	if _, err := io.ReadFull(qemuEnd, buf); err != nil || string(buf) != "tpm response" {
		t.Fatalf("through the passed fd: %q %v", buf, err)
	}

	var seen []string
	for _, c := range m.Seen() {
		seen = append(seen, c.String())
	}
	if len(seen) != len(steps)+1 || seen[0] != "GET_CAPABILITY" || seen[len(seen)-1] != "SET_DATAFD" {
		t.Fatalf("seen %v", seen)
	}
}

// TestMuxSetDataFDWithoutFD: a SET_DATAFD without a descriptor ends the
// connection with an error instead of reaching swtpm.
func TestMuxSetDataFDWithoutFD(t *testing.T) {
	fake, ctrl := newFakeSwtpm(t)
	m, err := NewMux(ctrl, filepath.Join(t.TempDir(), "mux.sock"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { m.Serve(); close(done) }()
	t.Cleanup(func() { m.Close(); <-done })
	q, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: m.Path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.Write(unhex(t, "00000010"))
	if _, err := q.Read(make([]byte, 4)); err == nil {
		t.Fatal("got an answer to SET_DATAFD without a descriptor")
	}
	if err := m.Err(); err == nil || !strings.Contains(err.Error(), "without a file descriptor") {
		t.Fatalf("Err() = %v", err)
	}
	select {
	case r := <-fake.got:
		t.Fatalf("swtpm got %x", r.data)
	default:
	}
}

// chunks is a msgReader that returns one chunk per read, as QEMU's writes
// arrive.
type chunks [][]byte

func (c *chunks) ReadMsgUnix(b, oob []byte) (int, int, int, *net.UnixAddr, error) {
	if len(*c) == 0 {
		return 0, 0, 0, nil, io.EOF
	}
	n := copy(b, (*c)[0])
	if n < len((*c)[0]) {
		(*c)[0] = (*c)[0][n:]
	} else {
		*c = (*c)[1:]
	}
	return n, 0, 0, nil, nil
}

// FuzzReadRequest: the request reader consumes the stream exactly (the
// requests it returns concatenate to a prefix of the input), each request
// starts with its command code and holds at least its framed body, and it
// never returns more than maxRequest bytes.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00"), uint8(0))
	f.Add([]byte("\x00\x00\x00\x07\x00\x00\x00\x04"+"1234"+"\x00\x00\x00\x06"), uint8(5))
	f.Add([]byte("\x00\x00\x00\x0d\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff"), uint8(3))
	f.Add([]byte("\x00\x00\x00\x07\x00\x01\x00\x00"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		var c chunks
		for rest := in; len(rest) > 0; {
			n := min(len(rest), int(split)+1)
			c = append(c, rest[:n])
			rest = rest[n:]
		}
		r := &fdReader{c: &c}
		consumed := 0
		for {
			req, err := readRequest(r)
			if err != nil {
				if errors.Is(err, io.EOF) && consumed != len(in) {
					t.Fatalf("clean EOF after %d of %d bytes", consumed, len(in))
				}
				break
			}
			if len(req.raw) < 4 || len(req.raw) > maxRequest {
				t.Fatalf("request of %d bytes", len(req.raw))
			}
			if n, err := swtpm.RequestBody(req.cmd, req.body()); err == nil && len(req.body()) < n {
				t.Fatalf("%s: body %d bytes, framed size %d", req.cmd, len(req.body()), n)
			}
			if !bytes.HasPrefix(in[consumed:], req.raw) {
				t.Fatalf("request %x at offset %d is not the input's next bytes", req.raw, consumed)
			}
			consumed += len(req.raw)
		}
	})
}
