// Package swtpm runs swtpm for the rig and the tests (Start: one process per
// state directory, ended by its PID) and speaks its control channel, which
// carries the out-of-band commands of swtpm's tpm_ioctl.h (CMD_INIT,
// CMD_SET_LOCALITY, CMD_HASH_START/DATA/END, ...). The data channel, which
// carries TPM 2.0 commands, is the product's: tpm.Open("swtpm:...").
//
// The control channel is what makes a software DRTM possible: HASH_START,
// HASH_DATA and HASH_END drive libtpms' _TPM_Hash_Start/_Data/_End, which reset
// PCR17–22 and set PCR17 = H(0ⁿ ‖ H(data)) in every bank (TCG PC Client PTP
// §9.3.x; libtpms IntegrityCommands.c), exactly as a CPU's SENTER/SKINIT does.
//
// All control-channel integers are big-endian. A request is a u32 command
// code followed by the command's request body; a response is the command's
// response body, which (except for GET_CAPABILITY) starts with a u32
// ptm_res result code.
//
// swtpm serves one control-channel client at a time.
package swtpm
