package tpm

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrNotCEL is returned by MarshalCEL for a log that systemd-pcrlock
// refuses to read, so that there is no output of systemd's to match.
var ErrNotCEL = errkind.New(errkind.Input, "not exportable as CEL-JSON the way systemd-pcrlock writes it")

// celRecord is one record of TCG Canonical Event Log JSON (CEL 1.0 §5.3)
// as systemd-pcrlock writes it; the field order is systemd's.
type celRecord struct {
	PCR         int         `json:"pcr"`
	RecNum      int         `json:"recnum"`
	Digests     []celDigest `json:"digests"`
	ContentType string      `json:"content_type"`
	Content     celPCClient `json:"content"`
}

type celDigest struct {
	HashAlg string `json:"hashAlg"`
	Digest  string `json:"digest"`
}

type celPCClient struct {
	EventType string `json:"event_type"`
	EventData string `json:"event_data"`
}

// systemdBanks are the banks systemd names (tpm2_hash_alg_to_string):
// digests of other banks are left out of its records.
var systemdBanks = map[Alg]bool{SHA1: true, SHA256: true, SHA384: true, SHA512: true}

// systemdNamedTypes are the event types systemd's tpm2_log_event_type_table
// names; systemd-pcrlock writes any other type as its decimal number. For
// each of these, systemd's name ("s-crtm-version", upper-cased with "EV_"
// before it and "_" for "-") is slkit's TCG name, except 0x8000000B, which
// systemd's table calls "efi-handoff-tables" (the name of 0x80000009):
// slkit writes the TCG name EV_EFI_HANDOFF_TABLES2 (PFP §10.4.1).
var systemdNamedTypes = map[EventType]bool{
	EvPrebootCert: true, EvPostCode: true, EvNoAction: true, EvSeparator: true, EvAction: true,
	EvEventTag: true, EvSCRTMContents: true, EvSCRTMVersion: true, EvCPUMicrocode: true,
	EvPlatformConfigFlags: true, EvTableOfDevices: true, EvCompactHash: true, EvIPL: true,
	EvIPLPartitionData: true, EvNonhostCode: true, EvNonhostConfig: true, EvNonhostInfo: true,
	EvOmitBootDeviceEvents: true, EvEFIVariableDriverConfig: true, EvEFIVariableBoot: true,
	EvEFIBootServicesApp: true, EvEFIBootServicesDriver: true, EvEFIRuntimeServicesDriver: true,
	EvEFIGPTEvent: true, EvEFIAction: true, EvEFIPlatformFirmwareBlob: true, EvEFIHandoffTables: true,
	EvEFIPlatformFirmwareBlob2: true, EvEFIHandoffTables2: true, EvEFIVariableBoot2: true,
	EvEFIHCRTMEvent: true, EvEFIVariableAuthority: true, EvEFISPDMFirmwareBlob: true,
	EvEFISPDMFirmwareConfig: true,
}

func celEventType(t EventType) string {
	if systemdNamedTypes[t] {
		return t.String()
	}
	return strconv.FormatUint(uint64(t), 10)
}

// MarshalCEL exports the log as CEL-JSON byte for byte as
// `systemd-pcrlock cel` writes it (checked against systemd v255 and v256: src/pcrlock/pcrlock.c verb_show_cel), less
// the newline systemd prints after it:
//
//   - one compact JSON array (no spaces), "[]" for no records;
//   - a record per event that extends a PCR, in log order; EV_NO_ACTION
//     events are left out and "recnum" counts the others from 1;
//   - record fields in the order pcr, recnum, digests, content_type
//     ("pcclient_std"), content {event_type, event_data (lower-case hex)};
//   - digests in the reverse of the header's order (systemd prepends each
//     bank to a list as it reads it), only for sha1, sha256, sha384 and
//     sha512 (banks systemd does not know are left out);
//   - event_type the TCG name of the types systemd names, else the type's
//     decimal number (EV_SLAUNCH 0x502 is "1282"); for 0x8000000B slkit
//     writes EV_EFI_HANDOFF_TABLES2 where systemd writes
//     EV_EFI_HANDOFF_TABLES.
//
// A log systemd-pcrlock refuses is refused with ErrNotCEL: a SHA-1-format
// (TPM 1.2) log, a header record with a non-zero digest or bytes after the
// vendor info, an event whose digests are not exactly the header's banks in
// the header's order, and a second StartupLocality event. So is a log
// systemd reads with other event boundaries than the TCG layout: systemd
// takes every event's digests to be the header's sizes, so an event whose
// digests have other sizes moves where it reads the next event from;
// slkit refuses rather than export another reading of the log. Unlike systemd,
// slkit reads a log with trailing zero or 0xFF padding (its records are
// exported; systemd refuses such a file).
func (l *EventLog) MarshalCEL() ([]byte, error) {
	if l.Format != FormatCryptoAgile || l.SpecID == nil {
		return nil, fmt.Errorf("%w: a SHA-1-format (TPM 1.2) log; systemd-pcrlock reads only crypto-agile logs (Spec ID Event03)", ErrNotCEL)
	}
	if len(l.HeaderDigest) != 0 && !bytes.Equal(l.HeaderDigest, make([]byte, len(l.HeaderDigest))) {
		return nil, fmt.Errorf("%w: the header record's digest is not zero", ErrNotCEL)
	}
	if len(l.SpecID.Extra) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the header's vendor info", ErrNotCEL, len(l.SpecID.Extra))
	}
	header := l.SpecID.Algorithms
	recs := []celRecord{}
	startup := false
	for i := range l.Events {
		e := &l.Events[i]
		order := e.algOrder
		if len(order) != len(e.Digests) {
			order = l.digestOrder(e.Digests)
		}
		if err := celCheckDigests(e, order, header); err != nil {
			return nil, err
		}
		if e.Type == EvNoAction {
			if e.PCR == 0 && len(e.Data) == 17 && string(e.Data[:16]) == "StartupLocality\x00" {
				if startup {
					return nil, fmt.Errorf("%w: event %d: a second StartupLocality event", ErrNotCEL, e.Index)
				}
				startup = true
			}
			continue
		}
		r := celRecord{PCR: e.PCR, RecNum: len(recs) + 1, Digests: []celDigest{}, ContentType: "pcclient_std",
			Content: celPCClient{EventType: celEventType(e.Type), EventData: hex.EncodeToString(e.Data)}}
		for j := len(order) - 1; j >= 0; j-- {
			if a := order[j]; systemdBanks[a] {
				r.Digests = append(r.Digests, celDigest{HashAlg: a.String(), Digest: hex.EncodeToString(e.Digests[a])})
			}
		}
		recs = append(recs, r)
	}
	return json.Marshal(recs)
}

// celCheckDigests applies systemd's reading of a TCG_PCR_EVENT2: exactly
// as many digests as the header has banks, read with the header's sizes
// (so an EV_NO_ACTION event, which it skips, needs only the same total
// size); for an event it records, the header's banks in the header's order.
func celCheckDigests(e *Event, order []Alg, header []AlgSize) error {
	if len(order) != len(header) {
		return fmt.Errorf("%w: event %d has %d digests, the header lists %d banks", ErrNotCEL, e.Index, len(order), len(header))
	}
	total := 0
	for j, a := range order {
		total += len(e.Digests[a]) - header[j].Size
		if e.Type != EvNoAction && a != header[j].Alg {
			return fmt.Errorf("%w: event %d: digest %d is %s, the header's bank %d is %s", ErrNotCEL, e.Index, j+1, a, j+1, header[j].Alg)
		}
	}
	if total != 0 {
		return fmt.Errorf("%w: event %d: its digests are not the sizes of the header's banks", ErrNotCEL, e.Index)
	}
	return nil
}
