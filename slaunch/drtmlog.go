package slaunch

import (
	"fmt"

	"github.com/slkit/slkit/tpm"
)

// DRTMLog is the DRTM event log of a launch, written with the generic TCG
// writer of package tpm: a crypto-agile log (TCG PC Client PFP §10.2.2)
// whose Spec ID Event03 header lists the log's banks and carries, as
// vendorInfo, the 20-byte LOG_POINTER2_1 element {u64 phys_addr; u32
// allocated_event_container_size; u32 first_record_offset; u32
// next_record_offset}, as secure-kernel-loader event_log.c
// (tpm20_spec_id_ev_t) writes it; then TCG_PCR_EVENT2 records.
type DRTMLog struct {
	// EventLog is the generic event log (header and events); its Replay,
	// Events and SpecID are the log's.
	*tpm.EventLog
	// Ptr is where the log lives and how much memory is reserved for it;
	// MarshalBinary fills its next_record_offset.
	Ptr LogPointer21
}

// NewDRTMLog returns an empty DRTM log for banks, placed at addr with size
// bytes reserved (0: no limit).
func NewDRTMLog(banks []tpm.Alg, addr uint64, size uint32) (*DRTMLog, error) {
	l, err := tpm.NewEventLog(banks)
	if err != nil {
		return nil, fmt.Errorf("DRTM log: %w", err)
	}
	d := &DRTMLog{EventLog: l, Ptr: LogPointer21{Addr: addr, AllocatedSize: size}}
	l.SpecID.VendorInfo = d.Ptr.bytes()
	return d, nil
}

// AppendEvent appends one event with its digests in the log's banks
// (an event may carry more banks: the TPM's own measurement reaches every
// bank, an SKL logs only SHA-1 and SHA-256); a missing bank is an error.
func (d *DRTMLog) AppendEvent(e Event) error {
	ds := tpm.Digests{}
	for _, a := range d.Algs() {
		v, ok := e.Digests[a]
		if !ok {
			return fmt.Errorf("DRTM log: event %q has no %s digest", e.Description, a)
		}
		ds[a] = v
	}
	if _, err := d.EventLog.Append(e.PCR, e.Type, ds, []byte(e.Description)); err != nil {
		return fmt.Errorf("DRTM log: event %q: %w", e.Description, err)
	}
	return nil
}

// MarshalBinary encodes the log. next_record_offset is set to the encoded
// length (where the next record goes, as SKL's log_event_tpm20 advances
// it; first_record_offset stays 0); the log must fit the reserved size.
func (d *DRTMLog) MarshalBinary() ([]byte, error) {
	b, err := d.EventLog.MarshalBinary() // vendorInfo has a fixed size: the length is final
	if err != nil {
		return nil, err
	}
	if d.Ptr.AllocatedSize != 0 && uint64(len(b)) > uint64(d.Ptr.AllocatedSize) {
		return nil, fmt.Errorf("DRTM log: %d bytes exceed the %d bytes reserved for it", len(b), d.Ptr.AllocatedSize)
	}
	d.Ptr.NextRecordOffset = uint32(len(b))
	d.SpecID.VendorInfo = d.Ptr.bytes()
	return d.EventLog.MarshalBinary()
}
