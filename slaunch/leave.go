package slaunch

import (
	"fmt"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/tpm"
)

// DescLeave is the event data of the leave event: slkit's own EV_SLAUNCH
// event (the profile's type; UTF-8, no NUL), which a launched OS extends
// into PCR 17 and then PCR 18 when it leaves the dynamic launch. Its digest
// in each bank is the hash of these bytes.
const DescLeave = "slkit: leave dynamic launch"

// LeftLogPath is where `slkit drtm leave` writes the launch's DRTM log
// with the leave events appended: the handed-over log
// (/slkit/drtm-eventlog.bin) stays as the launch left it, read-only input.
const LeftLogPath = "/run/slkit/drtm-eventlog.bin"

// ErrLeave is returned when the launch was left (PCR 17 and 18 extended)
// but its DRTM log, with the leave events, does not replay to them.
var ErrLeave = errkind.New(errkind.Verify, "left the dynamic launch, but the DRTM log does not describe it")

// LeaveHost is the part of leaving that only the rig host can do: the
// analogue of GETSEC[SEXIT], which gives up the launch's locality and
// allows the next DCE event (*hostchan.Client: the dce-leave verb).
type LeaveHost interface {
	DCELeave() error
}

// LeaveEvents are the leave event for PCR 17 and for PCR 18, with the
// digest of DescLeave in each of banks, by the launched OS (ActorDLME,
// locality 2).
func LeaveEvents(banks []tpm.Alg) ([]Event, error) {
	ds := tpm.Digests{}
	for _, a := range banks {
		d, err := a.Sum([]byte(DescLeave))
		if err != nil {
			return nil, err
		}
		ds[a] = d
	}
	var out []Event
	for _, pcr := range []int{PCRDCE, PCRPolicy} {
		out = append(out, Event{PCR: pcr, Type: EventType, Digests: ds, Description: DescLeave, By: ActorDLME})
	}
	return out, nil
}

// MaxLeaveLogSize bounds the DRTM log Leave reads: the emulated DCE
// reserves 64 KiB for it (EmuLogSize), a hardware DCE about as much.
const MaxLeaveLogSize = 1 << 20

// Left is what Leave did.
type Left struct {
	// Events are the two leave events, as extended.
	Events []Event
	// Log is the launch's DRTM log with the leave events appended; it
	// replays to the TPM's PCR 17 and 18 after the leave.
	Log []byte
}

// Leave leaves the dynamic launch described by log (the launch's DRTM
// log, as handed over) on t, the launched OS's TPM:
//
//  1. parse log (a malformed log is refused before anything is done);
//  2. extend PCR 17, then PCR 18, with the leave event in every active
//     bank (the OS still runs at the launch's locality 2; outside a launch
//     the TPM refuses with TPM_RC_LOCALITY);
//  3. append both events to the log and check that it replays to PCR 17
//     and 18 in every bank (else ErrLeave, with the log in Left);
//  4. host.DCELeave(): the rig host gives locality 2 up and arms one DCE
//     event, for the pre-launch environment this OS hands over to.
//
// From step 2 on, PCR 17 and 18 hold values no launch produces (a DCE
// event resets both before anything else extends them), so nothing
// sealed to the launch unseals again until the next dynamic launch, and
// after step 4 they refuse every extend until then. A failure from step 2
// on returns the error together with what was done (Left), so that the
// caller can still keep the log of what the TPM holds.
func Leave(t transport.TPM, log []byte, host LeaveHost) (*Left, error) {
	l, err := tpm.ParseEventLog(log)
	if err != nil {
		return nil, fmt.Errorf("%w: the launch's DRTM log: %w", ErrMalformed, err)
	}
	if l.Format != tpm.FormatCryptoAgile || l.SpecID == nil {
		return nil, fmt.Errorf("%w: the launch's DRTM log is not a crypto-agile log", ErrMalformed)
	}
	banks, err := tpm.ActiveBanks(t)
	if err != nil {
		return nil, err
	}
	evs, err := LeaveEvents(banks)
	if err != nil {
		return nil, err
	}
	left := &Left{}
	for _, e := range evs {
		if err := tpm.Extend(t, e.PCR, e.Digests); err != nil {
			return left, fmt.Errorf("extend PCR %d with the leave event (a launched OS runs at locality %d): %w", e.PCR, EmulatedLocality, err)
		}
		left.Events = append(left.Events, e)
	}
	if left.Log, err = appendToLog(l, evs); err != nil {
		return left, err
	}
	parsed, err := tpm.ParseEventLog(left.Log)
	if err != nil {
		return left, fmt.Errorf("the DRTM log slkit wrote does not parse: %w", err)
	}
	if err := VerifyDRTM(t, parsed); err != nil {
		return left, fmt.Errorf("%w: %w", ErrLeave, err)
	}
	if host == nil {
		return left, fmt.Errorf("left the launch, but there is no host channel to tell the DCE")
	}
	if err := host.DCELeave(); err != nil {
		return left, fmt.Errorf("left the launch (PCR 17 and 18 extended), but the rig host did not take the leave: %w", err)
	}
	return left, nil
}

// appendToLog appends evs (digests in the log's banks) to the parsed log
// and encodes it; a LOG_POINTER2_1 in the header's vendorInfo gets its
// next_record_offset advanced, as the DCE's log writer does.
func appendToLog(l *tpm.EventLog, evs []Event) ([]byte, error) {
	d := &DRTMLog{EventLog: l}
	ptr, ok := parseLogPointer21(l.SpecID.VendorInfo)
	for _, e := range evs {
		if err := d.AppendEvent(e); err != nil {
			return nil, err
		}
	}
	if !ok {
		return l.MarshalBinary()
	}
	d.Ptr = ptr
	return d.MarshalBinary()
}

// parseLogPointer21 reads the 20-byte LOG_POINTER2_1 body (see
// LogPointer21.bytes); ok is false for any other length.
func parseLogPointer21(b []byte) (LogPointer21, bool) {
	if len(b) != logPointer21Size {
		return LogPointer21{}, false
	}
	f := &field{what: "LOG_POINTER2_1", b: b}
	return LogPointer21{Addr: f.u64(0, "phys_addr"), AllocatedSize: f.u32(8, "allocated_event_container_size"),
		FirstRecordOffset: f.u32(12, "first_record_offset"), NextRecordOffset: f.u32(16, "next_record_offset")}, true
}
