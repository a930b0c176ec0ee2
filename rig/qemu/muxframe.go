package qemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/rig/swtpm"
)

// Control-channel framing, as the multiplexer sees it (swtpm
// include/swtpm/tpm_ioctl.h; src/swtpm/ctrlchannel.c):
//
//   - A request is a u32 big-endian command code and the request half of
//     the command's ptm_* union. Its size is fixed per command except
//     HASH_DATA, SET_STATEBLOB (a length field) and commands the mux does
//     not know (see readRequest).
//   - QEMU writes some requests as the whole C union, which is larger than
//     the request half (SET_LOCALITY: 1 byte of request, 4 bytes sent).
//     swtpm treats one message as one request, and QEMU waits for each
//     response before it sends the next request, so the bytes that arrived
//     with a request belong to it. The mux forwards them unchanged.
//   - A response starts with a u32 ptm_res result, except GET_CAPABILITY's
//     (a u64 capability mask). swtpm answers every failure with the result
//     alone (4 bytes: err_bad_input, err_running, err_not_running, ...),
//     and a success with the command's full response half.

// maxRequest bounds one control request (HASH_DATA: 4 + 4096 bytes; a
// SET_STATEBLOB could be larger, but the mux refuses those).
const maxRequest = 1 << 16

// request is one control-channel request from QEMU.
type request struct {
	cmd swtpm.Cmd
	// raw is the code and the body exactly as QEMU sent them.
	raw []byte
	// fd is the descriptor that came with the request (SET_DATAFD), or -1.
	fd int
}

// body is the request after the command code.
func (r *request) body() []byte { return r.raw[4:] }

// msgReader is the receiving half of a unix stream socket (*net.UnixConn).
type msgReader interface {
	ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
}

// fdReader reads a unix stream and keeps the file descriptors that arrive
// with it (SCM_RIGHTS, unix(7)).
type fdReader struct {
	c        msgReader
	buf      []byte
	fds      []int
	scratch  []byte
	oobSpace []byte
}

// fill reads one more message from the socket.
func (r *fdReader) fill() error {
	if r.scratch == nil {
		r.scratch, r.oobSpace = make([]byte, 8192), make([]byte, unix.CmsgSpace(4*8))
	}
	b, oob := r.scratch, r.oobSpace
	k, oobn, _, _, err := r.c.ReadMsgUnix(b, oob)
	if oobn > 0 {
		if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
			for _, msg := range msgs {
				if fds, ferr := unix.ParseUnixRights(&msg); ferr == nil {
					r.fds = append(r.fds, fds...)
				}
			}
		}
	}
	r.buf = append(r.buf, b[:k]...)
	switch {
	case k > 0:
		return nil
	case err != nil:
		return err
	}
	return io.EOF
}

func (r *fdReader) readFull(n int) ([]byte, error) {
	for len(r.buf) < n {
		if err := r.fill(); err != nil {
			if len(r.buf) > 0 && errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	out := r.buf[:n:n]
	r.buf = r.buf[n:]
	return out, nil
}

// takeBuffered returns and forgets the bytes read but not consumed.
func (r *fdReader) takeBuffered() []byte {
	b := r.buf
	r.buf = nil
	return b
}

func (r *fdReader) takeFD() int {
	if len(r.fds) == 0 {
		return -1
	}
	fd := r.fds[0]
	r.fds = r.fds[1:]
	return fd
}

func (r *fdReader) closeFDs() {
	for _, fd := range r.fds {
		unix.Close(fd)
	}
	r.fds = nil
}

// readRequest reads one request: the code, the body framed by the
// command's request size, and whatever else arrived with it (QEMU's union
// padding). A command the mux does not know is framed as swtpm frames
// every request: the bytes of the message it arrived in. SET_DATAFD takes
// the descriptor that came with it; descriptors sent with anything else
// are closed.
func readRequest(in *fdReader) (*request, error) {
	hdr, err := in.readFull(4)
	if err != nil {
		return nil, err
	}
	cmd := swtpm.Cmd(binary.BigEndian.Uint32(hdr))
	raw := append([]byte(nil), hdr...)
	for {
		n, err := swtpm.RequestBody(cmd, raw[4:])
		if err != nil {
			if knownCmd(cmd) {
				return nil, fmt.Errorf("request %s: %w", cmd, err)
			}
			break // unknown: the message is the request
		}
		if n > maxRequest {
			return nil, fmt.Errorf("request %s: body of %d bytes exceeds %d", cmd, n, maxRequest)
		}
		if n <= len(raw)-4 {
			break
		}
		more, err := in.readFull(n - (len(raw) - 4))
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the code came, the body did not
		}
		if err != nil {
			return nil, fmt.Errorf("request %s: %w", cmd, err)
		}
		raw = append(raw, more...)
	}
	raw = append(raw, in.takeBuffered()...)
	if len(raw) > maxRequest {
		return nil, fmt.Errorf("request %s: %d bytes exceed %d", cmd, len(raw), maxRequest)
	}
	req := &request{cmd: cmd, raw: raw, fd: -1}
	if cmd == swtpm.CmdSetDataFD {
		req.fd = in.takeFD()
	}
	in.closeFDs()
	return req, nil
}

// responseSize is the size of cmd's response given its first bytes
// (peek); more than len(peek) means: read up to that size and ask again.
func responseSize(cmd swtpm.Cmd, peek []byte) (int, error) {
	if cmd == swtpm.CmdGetCapability {
		return 8, nil // ptm_cap: no result field
	}
	if !knownCmd(cmd) {
		return 4, nil // swtpm: TPM_BAD_ORDINAL
	}
	if len(peek) < 4 {
		return 4, nil
	}
	if binary.BigEndian.Uint32(peek) != 0 {
		return 4, nil // failures carry the result alone
	}
	return swtpm.ResponseSize(cmd, peek)
}

// readResponse reads one response to cmd from r.
func readResponse(r io.Reader, cmd swtpm.Cmd) ([]byte, error) {
	var resp []byte
	for {
		n, err := responseSize(cmd, resp)
		if err != nil {
			return nil, err
		}
		if n > maxRequest {
			return nil, fmt.Errorf("response to %s: %d bytes exceed %d", cmd, n, maxRequest)
		}
		if n <= len(resp) {
			return resp[:n], nil
		}
		more := make([]byte, n-len(resp))
		if _, err := io.ReadFull(r, more); err != nil {
			return nil, fmt.Errorf("response to %s: %w", cmd, err)
		}
		resp = append(resp, more...)
	}
}

// knownCmd reports whether the mux knows cmd's frame sizes.
func knownCmd(cmd swtpm.Cmd) bool {
	_, err := swtpm.RequestBody(cmd, make([]byte, 16))
	return err == nil
}

// refusal is the response the mux gives in swtpm's place to a request it
// will not forward: the result alone, as swtpm answers failures.
func refusal(result uint32) []byte { return binary.BigEndian.AppendUint32(nil, result) }
