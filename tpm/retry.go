package tpm

import (
	"encoding/binary"
	"time"
)

// Response codes after which the TPM did not execute the command and the
// caller may resubmit it unchanged (Part 2 §6.6.3, Table 16; PTP §6.5.2.4).
const (
	rcRetry   = 0x922 // TPM_RC_RETRY
	rcYielded = 0x908 // TPM_RC_YIELDED
	rcTesting = 0x90A // TPM_RC_TESTING
)

// retrying resubmits a command that the TPM answered with TPM_RC_RETRY,
// TPM_RC_YIELDED or TPM_RC_TESTING, up to 20 times with a short back-off.
// The original bytes are kept: a transport may modify its buffer in place.
type retrying struct{ inner TPMSender }

func (r retrying) Send(cmd []byte) ([]byte, error) {
	orig := append([]byte(nil), cmd...)
	delay := time.Millisecond
	for try := 0; ; try++ {
		rsp, err := r.inner.Send(append([]byte(nil), orig...))
		if err != nil || len(rsp) < 10 || try >= 20 {
			return rsp, err
		}
		switch binary.BigEndian.Uint32(rsp[6:10]) {
		case rcRetry, rcYielded, rcTesting:
			time.Sleep(delay)
			delay = min(delay*2, 100*time.Millisecond)
		default:
			return rsp, nil
		}
	}
}
