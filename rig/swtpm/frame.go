package swtpm

import (
	"encoding/binary"
	"fmt"
)

// Frame sizes of the control channel, from the request/response halves of
// the ptm_* unions in tpm_ioctl.h (all big-endian, no padding on the wire
// except where the C struct has it: ptm_est's response is 8 bytes).

// RequestBody returns the size of cmd's request body that follows the
// 4-byte command code, given the body's first bytes (peek) for the variable
// ones. need > len(peek) means: read that many bytes and ask again.
func RequestBody(cmd Cmd, peek []byte) (size int, err error) {
	switch cmd {
	case CmdGetCapability, CmdShutdown, CmdGetTPMEstablished, CmdHashStart, CmdHashEnd,
		CmdCancelTPMCmd, CmdStoreVolatile, CmdStop, CmdGetConfig, CmdSetDataFD:
		return 0, nil
	case CmdSetLocality, CmdResetTPMEstablished:
		return 1, nil
	case CmdInit, CmdSetBufferSize:
		return 4, nil
	case CmdGetStateBlob:
		return 12, nil
	case CmdGetInfo:
		return 16, nil
	case CmdHashData:
		if len(peek) < 4 {
			return 4, nil
		}
		n := binary.BigEndian.Uint32(peek)
		if n > MaxHashChunk {
			return 0, fmt.Errorf("HASH_DATA of %d bytes exceeds %d", n, MaxHashChunk)
		}
		return 4 + int(n), nil
	case CmdSetStateBlob:
		if len(peek) < 12 {
			return 12, nil
		}
		n := binary.BigEndian.Uint32(peek[8:])
		if n > 1<<24 {
			return 0, fmt.Errorf("SET_STATEBLOB of %d bytes", n)
		}
		return 12 + int(n), nil
	}
	return 0, fmt.Errorf("unknown control command %s", cmd)
}

// ResponseSize returns the size of cmd's response, given its first bytes
// (peek) for the variable ones, like RequestBody.
func ResponseSize(cmd Cmd, peek []byte) (int, error) {
	switch cmd {
	case CmdGetCapability, CmdGetTPMEstablished, CmdGetConfig:
		return 8, nil
	case CmdSetBufferSize:
		return 16, nil
	case CmdGetStateBlob:
		if len(peek) < 16 {
			return 16, nil
		}
		if binary.BigEndian.Uint32(peek) != 0 {
			return 4, nil // an error response carries only the result
		}
		return 16 + int(binary.BigEndian.Uint32(peek[12:])), nil
	case CmdGetInfo:
		if len(peek) < 12 {
			return 12, nil
		}
		if binary.BigEndian.Uint32(peek) != 0 {
			return 4, nil
		}
		return 12 + int(binary.BigEndian.Uint32(peek[8:])), nil
	}
	if _, err := RequestBody(cmd, make([]byte, 12)); err != nil {
		return 0, err
	}
	return 4, nil
}
