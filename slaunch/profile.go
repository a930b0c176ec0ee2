package slaunch

import (
	"github.com/slkit/slkit/tpm"
)

// The DRTM measurement profile (README.md, "DRTM measurement profile").
// PCR17 is the DCE's PCR, PCR18 the DLME policy's; every event has type
// EV_SLAUNCH 0x502 and its description as event data (UTF-8, no NUL).
const (
	PCRDCE    = 17
	PCRPolicy = 18
	// EventType is the type of every DRTM event (TrenchBoot
	// TXT_EVTYPE_SLAUNCH / DLE_EVTYPE_SLAUNCH, 0x400 + 0x102).
	EventType = tpm.EvSlaunch
)

// Event descriptions, as the reference implementations log them.
const (
	// DescSKINIT is the event a DCE logs for the TPM's own measurement of
	// SLB[0:measured_size] (secure-kernel-loader event_log.c).
	DescSKINIT = "SKINIT"
	// DescDLMEEntry and DescDLME are the SKL's extends of PCR17: the DLME
	// entry offset as a little-endian u32, then the DLME (main.c).
	DescDLMEEntry = "DLME entry offset"
	DescDLME      = "DLME"
	// DescSLRT, DescCmdline and DescInitrd are the evt_info strings of
	// GRUB's default policy (loader/slaunch/slrt.c grub_setup_slrt_policy).
	DescSLRT    = "Measured SLR Table"
	DescCmdline = "Measured Kernel command line"
	DescInitrd  = "Measured Kernel initrd"
)

// Actor says who extends an event.
type Actor string

// Actors.
const (
	// ActorTPM: the TPM itself (_TPM_Hash_Start/Data/End during SKINIT,
	// SENTER, or the emulated launch); software never extends it.
	ActorTPM Actor = "tpm"
	// ActorDCE: the AMD DCE (the SKL, or slkit emulating it) at locality 2.
	ActorDCE Actor = "dce"
	// ActorDLME: the DLME's policy measurements at locality 2.
	ActorDLME Actor = "dlme"
	// ActorACM: the Intel SINIT ACM; its events are taken from its log,
	// never extended by software (see PredictTXT).
	ActorACM Actor = "acm"
)

// Event is one DRTM measurement: the PCR, the event type, the digest in
// every predicted bank, the description (the event data), and who extends it.
type Event struct {
	PCR         int           `json:"pcr"`
	Type        tpm.EventType `json:"type"`
	Digests     tpm.Digests   `json:"digests"`
	Description string        `json:"description"`
	By          Actor         `json:"by"`
}

// TPMEvent converts the event to a log record (index 0: not yet placed).
func (e Event) TPMEvent() tpm.Event {
	ds := tpm.Digests{}
	for a, d := range e.Digests {
		ds[a] = append(tpm.Digest(nil), d...)
	}
	return tpm.Event{PCR: e.PCR, Type: e.Type, Digests: ds, Data: []byte(e.Description)}
}
