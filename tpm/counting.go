package tpm

import (
	"encoding/binary"
	"sync"
)

// Recorder is a transport.TPM that passes commands to an inner TPM and keeps
// a copy of every command and response. Tests use it to count TPM round
// trips and to check that no secret crosses the interface in clear.
type Recorder struct {
	inner TPMSender

	mu        sync.Mutex
	Commands  [][]byte
	Responses [][]byte
}

// NewRecorder wraps t.
func NewRecorder(t TPMSender) *Recorder { return &Recorder{inner: t} }

// Send implements transport.TPM. The command is copied before it is sent:
// the in-process simulator decrypts session-encrypted parameters in place
// in the caller's buffer, so a copy taken afterwards would show plaintext
// that never crossed the interface.
func (r *Recorder) Send(cmd []byte) ([]byte, error) {
	sent := append([]byte(nil), cmd...)
	rsp, err := r.inner.Send(cmd)
	r.mu.Lock()
	r.Commands = append(r.Commands, sent)
	r.Responses = append(r.Responses, append([]byte(nil), rsp...))
	r.mu.Unlock()
	return rsp, err
}

// Count is the number of commands sent.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.Commands)
}

// CommandCodes returns the TPM_CC of each command sent, in order.
func (r *Recorder) CommandCodes() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]uint32, 0, len(r.Commands))
	for _, c := range r.Commands {
		if len(c) >= 10 {
			out = append(out, binary.BigEndian.Uint32(c[6:10]))
		}
	}
	return out
}

// Reset forgets what was recorded.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.Commands, r.Responses = nil, nil
	r.mu.Unlock()
}
