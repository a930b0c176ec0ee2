package slaunch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// ErrPredict wraps every failure to predict DRTM PCR values from the inputs.
var ErrPredict = errkind.New(errkind.Input, "cannot predict the DRTM PCRs")

// Prediction is what a dynamic launch will leave in PCR17 and PCR18,
// computed without a TPM.
type Prediction struct {
	// Banks are every bank predicted: those the TPM has active.
	Banks []tpm.Alg `json:"banks"`
	// LogBanks are the banks the DCE and the DLME extend and log (a subset
	// of Banks). In the other banks PCR17 holds only the TPM's own
	// measurement and PCR18 stays 0.
	LogBanks []tpm.Alg `json:"log_banks"`
	// PCRs holds PCR17 and PCR18 in every bank of Banks.
	PCRs *tpm.PCRs `json:"pcrs"`
	// Events are the measurements in order: first the TPM's, then the
	// DCE's, then the DLME policy's.
	Events []Event `json:"events"`
}

// measurement is one software extend: the bytes come from data, unless
// digests (computed by the caller from the same bytes) hold every bank.
type measurement struct {
	pcr     int
	desc    string
	by      Actor
	data    io.Reader
	digests tpm.Digests
	// entity is the ENTRY_POLICY entity type of a DLME policy measurement.
	entity uint16
}

// predictDRTM computes the profile: PCR17 and PCR18 start at 0 (the TPM
// resets PCR17–22 to 0 at _TPM_Hash_End, libtpms PCRResetDynamics), the
// TPM extends PCR17 with H(dce) in every bank, then each measurement
// E(p, d) = H(p ‖ d) in the log banks.
func predictDRTM(banks, logBanks []tpm.Alg, dce []byte, ms []measurement) (*Prediction, error) {
	if len(banks) == 0 {
		return nil, fmt.Errorf("%w: no PCR banks", ErrPredict)
	}
	for _, a := range banks {
		if _, err := a.New(); err != nil {
			return nil, fmt.Errorf("%w: bank %s: %w", ErrPredict, a, err)
		}
	}
	ds, err := tpm.HashBytes(banks, dce)
	if err != nil {
		return nil, err
	}
	first := Event{PCR: PCRDCE, Type: EventType, Digests: ds, Description: DescSKINIT, By: ActorTPM}
	return predictEvents(banks, logBanks, []Event{first}, ms)
}

// predictEvents hashes the measurements in the log banks (those of banks
// listed in logBanks), appends them to the given events and replays all
// of them from 0 in every bank.
func predictEvents(banks, logBanks []tpm.Alg, events []Event, ms []measurement) (*Prediction, error) {
	p := &Prediction{Banks: append([]tpm.Alg(nil), banks...), PCRs: tpm.NewPCRs(), Events: events}
	for _, a := range banks {
		if containsAlg(logBanks, a) {
			p.LogBanks = append(p.LogBanks, a)
		}
	}
	if len(p.LogBanks) == 0 {
		return nil, fmt.Errorf("%w: none of the log banks %v is among the banks %v", ErrPredict, logBanks, banks)
	}
	for _, m := range ms {
		ds, ok := precomputed(m.digests, p.LogBanks)
		if !ok {
			var err error
			if ds, err = tpm.HashReader(p.LogBanks, m.data); err != nil {
				return nil, fmt.Errorf("%w: hash %q: %w", ErrPredict, m.desc, err)
			}
		}
		p.Events = append(p.Events, Event{PCR: m.pcr, Type: EventType, Digests: ds, Description: m.desc, By: m.by})
	}
	for _, a := range banks {
		pcr := map[int]tpm.Digest{PCRDCE: tpm.ZeroDigest(a), PCRPolicy: tpm.ZeroDigest(a)}
		for _, e := range p.Events {
			d, ok := e.Digests[a]
			if !ok {
				continue
			}
			if pcr[e.PCR] == nil {
				return nil, fmt.Errorf("%w: event %q extends PCR %d, outside the profile's 17 and 18", ErrPredict, e.Description, e.PCR)
			}
			var err error
			if pcr[e.PCR], err = tpm.ExtendDigest(a, pcr[e.PCR], d); err != nil {
				return nil, err
			}
		}
		p.PCRs.Set(a, PCRDCE, pcr[PCRDCE])
		p.PCRs.Set(a, PCRPolicy, pcr[PCRPolicy])
	}
	return p, nil
}

// precomputed returns the digests of ds in every bank of algs, or false
// when ds lacks one (or holds a digest of the wrong size).
func precomputed(ds tpm.Digests, algs []tpm.Alg) (tpm.Digests, bool) {
	if len(ds) == 0 {
		return nil, false
	}
	out := tpm.Digests{}
	for _, a := range algs {
		d, ok := ds[a]
		if !ok || len(d) != a.Size() {
			return nil, false
		}
		out[a] = append(tpm.Digest(nil), d...)
	}
	return out, true
}

// Log returns the whole predicted DRTM log (every event, in the log banks).
func (p *Prediction) Log(addr uint64, size uint32) (*DRTMLog, error) {
	return p.log(addr, size, func(Event) bool { return true })
}

// LogPrefix returns the part of the log the DCE hands to the DLME: the
// TPM's and the DCE's events, before any DLME policy event.
func (p *Prediction) LogPrefix(addr uint64, size uint32) (*DRTMLog, error) {
	return p.log(addr, size, func(e Event) bool { return e.By != ActorDLME })
}

func (p *Prediction) log(addr uint64, size uint32, keep func(Event) bool) (*DRTMLog, error) {
	l, err := NewDRTMLog(p.LogBanks, addr, size)
	if err != nil {
		return nil, err
	}
	for _, e := range p.Events {
		if !keep(e) {
			continue
		}
		if err := l.AppendEvent(e); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Expected returns the prediction in the shape `slkit seal --pcr-values`
// reads: PCR17/18 in every bank and the events numbered as in the log
// (1 is the first event after the Spec ID header).
func (p *Prediction) Expected() tpm.Expected {
	x := tpm.Expected{PCRs: *p.PCRs}
	for i, e := range p.Events {
		te := e.TPMEvent()
		te.Index = i + 1
		for a := range te.Digests {
			if !containsAlg(p.LogBanks, a) {
				delete(te.Digests, a)
			}
		}
		x.Events = append(x.Events, te)
	}
	return x
}

func containsAlg(as []tpm.Alg, a tpm.Alg) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// PostLaunch returns the events software extends after the dynamic launch
// (the SKL's or emulated DCE's and the DLME's), in order: never the TPM's
// own measurement or the SINIT ACM's.
func (p *Prediction) PostLaunch() []Event {
	var out []Event
	for _, e := range p.Events {
		if e.By == ActorDCE || e.By == ActorDLME {
			out = append(out, e)
		}
	}
	return out
}

// ExtendEvents extends each event's digests into its PCR, all banks of an
// event in one TPM2_PCR_Extend (tpm.Extend). PCR17 and PCR18 accept
// extends at localities 2–4 only: the caller sets the locality first.
func ExtendEvents(t transport.TPM, events []Event) error {
	for _, e := range events {
		switch e.By {
		case ActorTPM:
			return fmt.Errorf("event %q is the TPM's own measurement: run the _TPM_Hash sequence instead", e.Description)
		case ActorACM:
			return fmt.Errorf("event %q is the SINIT ACM's: software never extends it", e.Description)
		}
		if err := tpm.Extend(t, e.PCR, e.Digests); err != nil {
			return fmt.Errorf("extend %q: %w", e.Description, err)
		}
	}
	return nil
}

// le32 encodes the DLME entry offset as the SKL measures it (main.c:
// extend_pcr(&entry_offset, sizeof(u32), 17, "DLME entry offset")).
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// policyMeasurements turns the SLRT's ENTRY_POLICY into measurements, as
// the DLME's sl_main does (sl_process_extend_policy): the SLRT entity is
// SLRT.MeasuredBytes, the command line and the initrd are their bytes.
// Other entity types (boot_params, setup_data, the EFI memory map) depend
// on the running kernel's loader and cannot be predicted, so a policy that
// lists them is refused; UNUSED entries are skipped.
func policyMeasurements(t *SLRT, cmdline []byte, initrd io.Reader) ([]measurement, error) {
	pol, ok := t.Find(TagEntryPolicy).(EntryPolicy)
	if !ok {
		return nil, fmt.Errorf("%w: the SLRT has no ENTRY_POLICY", ErrPredict)
	}
	var out []measurement
	for i, e := range pol.Entries {
		m := measurement{pcr: int(e.PCR), desc: e.Description(), by: ActorDLME, entity: e.EntityType}
		switch e.EntityType {
		case EntityUnused:
			continue
		case EntitySLRT:
			b, err := t.MeasuredBytes()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrPredict, err)
			}
			m.data = bytes.NewReader(b)
		case EntityCmdline:
			if uint64(len(cmdline)) != e.Size {
				return nil, fmt.Errorf("%w: policy entry %d: command line is %d bytes, the SLRT says %d", ErrPredict, i, len(cmdline), e.Size)
			}
			m.data = bytes.NewReader(cmdline)
		case EntityRamdisk:
			if initrd == nil {
				return nil, fmt.Errorf("%w: policy entry %d measures an initrd, none given", ErrPredict, i)
			}
			m.data = &exactReader{r: initrd, n: int64(e.Size), what: "initrd"}
		default:
			return nil, fmt.Errorf("%w: policy entry %d: entity type %#x depends on the running loader", ErrPredict, i, e.EntityType)
		}
		out = append(out, m)
	}
	return out, nil
}

// exactReader reads exactly n bytes from r: a shorter or longer input is an
// error (the SLRT's size would not describe the bytes measured).
type exactReader struct {
	r    io.Reader
	n    int64
	what string
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n == 0 {
		var one [1]byte
		if k, _ := io.ReadFull(e.r, one[:]); k > 0 {
			return 0, fmt.Errorf("%s is longer than the SLRT says", e.what)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	k, err := e.r.Read(p)
	e.n -= int64(k)
	if err == io.EOF && e.n > 0 {
		return k, fmt.Errorf("%s is shorter than the SLRT says (%d bytes missing)", e.what, e.n)
	}
	if err == io.EOF {
		err = nil
	}
	return k, err
}
