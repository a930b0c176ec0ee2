package slaunch

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/slkit/slkit/tpm"
)

// Where a Secure Launch kernel exposes the DRTM log and the TXT registers
// (Linux Secure Launch v16, patch "x86: Secure Launch late initcall
// platform module", arch/x86/kernel/slmodule.c: slaunch_expose_securityfs,
// only after an Intel TXT launch, SL_FLAG_ACTIVE|SL_FLAG_ARCH_TXT).
const (
	SecurityFSDir = "/sys/kernel/security/slaunch"
	SecurityFSLog = SecurityFSDir + "/eventlog"
)

// MaxKernelLogSize bounds the securityfs log buffer read: the SLRT
// LOG_INFO size a loader reserves (GRUB reserves 64 KiB; slkit's emulated
// layout too), with room to spare.
const MaxKernelLogSize = 8 << 20

// Event types of Secure Launch v14 and earlier: the early stub put these
// markers before and after the events the late module was to extend
// (arch/x86/kernel/slmodule.c of those series, slaunch_tpm20_extend: the
// markers themselves are not extended; one revision rewrote them to
// NO_ACTION in the log). v15 and v16 extend early and log only 0x502.
const (
	EvSlaunchStart tpm.EventType = 0x503
	EvSlaunchEnd   tpm.EventType = 0x504
)

// TXT 1.2 event container header (Intel TXT SDG Appendix E.1, Table E-3;
// Linux Secure Launch v16 include/linux/slaunch.h, struct
// tpm_event_log_header, patch "x86: Secure Launch main header file"):
// signature[20] "TXT Event Container\0", reserved[12], u8
// container_ver_major@32, container_ver_minor@33, pcr_event_ver_major@34,
// pcr_event_ver_minor@35, u32 container_size@36, pcr_events_offset@40,
// next_event_offset@44; then TCG_PCR_EVENT records (SHA-1).
const (
	txtContainerSig       = "TXT Event Container\x00"
	txtContainerHeader    = 48
	txtContainerSizeOff   = 36
	txtContainerEventsOff = 40
	txtContainerNextOff   = 44
	// tcgPCREventSize is sizeof(struct tcg_pcr_event) without event data
	// (u32 pcr, u32 type, sha1[20], u32 size): slmodule.c tells a TPM 2.0
	// log by the "Spec ID Event03" signature right after it.
	tcgPCREventSize = 32
)

// KernelLogFormat names the two formats of the securityfs log.
type KernelLogFormat string

const (
	// KernelLogTPM20 is a TCG crypto-agile log (PFP §10.2.2) from its Spec
	// ID event.
	KernelLogTPM20 KernelLogFormat = "tpm2.0 crypto-agile"
	// KernelLogTPM12 is a TXT 1.2 event container of SHA-1 events.
	KernelLogTPM12 KernelLogFormat = "tpm1.2 txt event container"
)

// KernelLog is the DRTM log a Secure Launch kernel exposes: the whole
// SLRT LOG_INFO buffer, the unused space after the last event included.
type KernelLog struct {
	Format KernelLogFormat `json:"format"`
	// Log holds the events; v14 markers (0x503/0x504) are EV_NO_ACTION
	// in it, as they were never extended.
	Log *tpm.EventLog `json:"-"`
	// Bytes is Log encoded: the TPM 2.0 log without the unused space, or
	// the container's events as a legacy SHA-1 log (PFP §10.2.1).
	Bytes []byte `json:"-"`
	// BufferSize is the size of the buffer read; Unused its zero bytes
	// after the last event.
	BufferSize int `json:"buffer_size"`
	Unused     int `json:"unused"`
	// Markers counts the 0x503/0x504 markers of Secure Launch v14 and
	// earlier found (and not replayed).
	Markers int `json:"markers"`
}

// ParseKernelLog reads the securityfs log buffer b (at most
// MaxKernelLogSize bytes): a TPM 2.0 log when "Spec ID Event03" follows
// the first TCG_PCR_EVENT header (as slaunch_intel_evtlog decides), else a
// TXT 1.2 event container. A buffer with no event, or only zero bytes,
// wraps ErrNoKernelLog; a malformed one ErrMalformed or
// tpm.ErrMalformedLog.
func ParseKernelLog(b []byte) (*KernelLog, error) {
	if len(b) > MaxKernelLogSize {
		return nil, formatErr("DRTM log", 0, "buffer of %d bytes, more than %d", len(b), MaxKernelLogSize)
	}
	if len(bytes.TrimLeft(b, "\x00")) == 0 {
		return nil, fmt.Errorf("%w: the %d-byte buffer holds only zero bytes", ErrNoKernelLog, len(b))
	}
	k := &KernelLog{BufferSize: len(b)}
	var err error
	switch {
	case len(b) >= tcgPCREventSize+15 && string(b[tcgPCREventSize:tcgPCREventSize+15]) == "Spec ID Event03":
		k.Format = KernelLogTPM20
		err = k.parseTPM20(b)
	case len(b) >= len(txtContainerSig) && string(b[:len(txtContainerSig)]) == txtContainerSig:
		k.Format = KernelLogTPM12
		err = k.parseTPM12(b)
	default:
		return nil, formatErr("DRTM log", 0, "neither a TPM 2.0 log (no \"Spec ID Event03\" at byte 32) nor a TXT event container (no %q)", txtContainerSig[:19])
	}
	if err != nil {
		return nil, err
	}
	if len(k.Log.Events) == 0 {
		return nil, fmt.Errorf("%w: the %s log has a header but no event", ErrNoKernelLog, k.Format)
	}
	for i := range k.Log.Events {
		if e := &k.Log.Events[i]; e.Type == EvSlaunchStart || e.Type == EvSlaunchEnd {
			e.Type = tpm.EvNoAction
			k.Markers++
		}
	}
	if k.Bytes, err = k.Log.MarshalBinary(); err != nil {
		return nil, err
	}
	return k, nil
}

// parseTPM20 parses the crypto-agile log and finds where it ends: the
// parser stops at the zero bytes after the last event, and the log
// re-encodes to exactly the bytes before them.
func (k *KernelLog) parseTPM20(b []byte) error {
	l, err := tpm.ParseEventLog(b)
	if err != nil {
		return err
	}
	used, err := l.MarshalBinary()
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(b, used) || len(bytes.Trim(b[len(used):], "\x00")) != 0 {
		return formatErr("DRTM log", int64(len(used)), "the bytes after the last event are not the buffer's unused zero space")
	}
	k.Log, k.Unused = l, len(b)-len(used)
	return nil
}

// parseTPM12 reads the container header and parses the events between
// pcr_events_offset and next_event_offset as a SHA-1 log.
func (k *KernelLog) parseTPM12(b []byte) error {
	if len(b) < txtContainerHeader {
		return formatErr("DRTM log", 0, "TXT event container header needs %d bytes, the buffer has %d", txtContainerHeader, len(b))
	}
	size := binary.LittleEndian.Uint32(b[txtContainerSizeOff:])
	first := binary.LittleEndian.Uint32(b[txtContainerEventsOff:])
	next := binary.LittleEndian.Uint32(b[txtContainerNextOff:])
	switch {
	case b[32] != 1 || b[34] != 1:
		return formatErr("DRTM log", 32, "TXT event container version %d.%d, event version %d.%d: want 1.x", b[32], b[33], b[34], b[35])
	case uint64(size) > uint64(len(b)):
		return formatErr("DRTM log", txtContainerSizeOff, "container_size %d exceeds the %d-byte buffer", size, len(b))
	case first < txtContainerHeader || first > next:
		return formatErr("DRTM log", txtContainerEventsOff, "pcr_events_offset %d is outside [%d, next_event_offset %d]", first, txtContainerHeader, next)
	case next > size:
		return formatErr("DRTM log", txtContainerNextOff, "next_event_offset %d exceeds container_size %d", next, size)
	case first == next:
		return fmt.Errorf("%w: the TXT event container holds no event", ErrNoKernelLog)
	}
	l, err := tpm.ParseEventLog(b[first:next])
	if err != nil {
		return err
	}
	if l.Format != tpm.FormatSHA1 || l.SpecID != nil {
		return formatErr("DRTM log", int64(first), "the TXT event container's events are not SHA-1 TCG_PCR_EVENT records")
	}
	k.Log, k.Unused = l, len(b)-int(next)
	return nil
}
