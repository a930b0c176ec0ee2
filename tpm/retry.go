package tpm

import (
	"encoding/binary"
	"errors"
	"syscall"
	"time"
)

// Response codes after which the TPM did not execute the command and the
// caller may resubmit it unchanged (Part 2 §6.6.3, Table 16; PTP §6.5.2.4).
const (
	rcRetry   = 0x922 // TPM_RC_RETRY
	rcYielded = 0x908 // TPM_RC_YIELDED
	rcTesting = 0x90A // TPM_RC_TESTING
)

// readOnly are the command codes (Part 2 §6.5.2) that change no TPM state
// and return nothing secret, so that sending one again after the kernel
// driver gave up on it is harmless: TPM2_GetCapability, TPM2_PCR_Read,
// TPM2_NV_ReadPublic, TPM2_ReadPublic, TPM2_NV_Read.
var readOnly = map[uint32]bool{0x17A: true, 0x17E: true, 0x169: true, 0x173: true, 0x14E: true}

// retrying resubmits a command that the TPM answered with TPM_RC_RETRY,
// TPM_RC_YIELDED or TPM_RC_TESTING, up to 20 times with a short back-off,
// and a read-only command (readOnly) whose write to the kernel's TPM
// device failed with ETIME, up to 3 times: Linux's TIS driver gives up
// when a status poll comes after its timeout (tpm_tis_core.c,
// wait_for_tpm_stat), which happens when a virtual machine's vCPU is not
// scheduled for a while, although the TPM is ready. A command that may
// change state is never resent: its outcome is unknown. The original
// bytes are kept: a transport may modify its buffer in place.
type retrying struct{ inner TPMSender }

func (r retrying) Send(cmd []byte) ([]byte, error) {
	orig := append([]byte(nil), cmd...)
	delay := time.Millisecond
	timeouts := 0
	for try := 0; ; try++ {
		rsp, err := r.inner.Send(append([]byte(nil), orig...))
		if err != nil && errors.Is(err, syscall.ETIME) && timeouts < 3 && len(orig) >= 10 && readOnly[binary.BigEndian.Uint32(orig[6:10])] {
			timeouts++
			time.Sleep(100 * time.Millisecond)
			continue
		}
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
