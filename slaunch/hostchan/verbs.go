package hostchan

import "fmt"

// Verbs the rig's host answers when it runs the control-channel mux
// (package qemu registers them).
const (
	// VerbTPMHash asks the host to run the _TPM_Hash_Start/Data/End
	// sequence over the payload: the DCE measurement a CPU streams to the
	// TPM in SENTER or SKINIT (TPM 2.0 Part 1, "_TPM_Hash"). PCR17–22 are reset
	// and PCR17 = H(0ⁿ ‖ H(payload)) in every bank.
	VerbTPMHash = "tpm-hash"
	// VerbTPMLocality asks the host to hold the guest's TPM commands at the
	// locality in the payload's single byte (0–4) until the next platform
	// reset, as a Secure Launch kernel does with tpm_chip_set_locality(2).
	VerbTPMLocality = "tpm-locality"
	// VerbDCELeave tells the host that the launched OS left the dynamic
	// launch (it extended PCR 17 and 18 with the leave event: `slkit drtm
	// leave`), the analogue of GETSEC[SEXIT]: the host gives up the
	// launch's locality and allows one more DCE event, for the pre-launch
	// environment the OS hands over to.
	VerbDCELeave = "dce-leave"
)

// TPMHash asks the host to run the _TPM_Hash sequence over blob.
func (c *Client) TPMHash(blob []byte) error {
	_, err := c.Call(VerbTPMHash, blob)
	return err
}

// TPMLocality asks the host to hold the guest's TPM commands at loc.
func (c *Client) TPMLocality(loc uint8) error {
	if loc > 4 {
		return fmt.Errorf("host channel: locality %d: want 0-4", loc)
	}
	_, err := c.Call(VerbTPMLocality, []byte{loc})
	return err
}

// DCELeave tells the host that the launched OS left the launch.
func (c *Client) DCELeave() error {
	_, err := c.Call(VerbDCELeave, nil)
	return err
}
