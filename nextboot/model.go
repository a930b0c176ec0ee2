package nextboot

import (
	"bytes"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/tpm"
)

// convention is how an event's digest relates to its UEFI_VARIABLE_DATA.
type convention int

const (
	opaque     convention = iota // neither: the event is kept as it is
	digestAll                    // H(UEFI_VARIABLE_DATA): driver config, authority
	digestData                   // H(VariableData): boot variables
)

// varEvent is a variable event of the log with its parsed data.
type varEvent struct {
	idx  int
	v    *tpm.UEFIVariableData // nil: the data does not parse
	conv convention
}

func (e *varEvent) name() efi.Name {
	if e.v == nil {
		return efi.Name{}
	}
	return efi.Name{Name: e.v.Name(), GUID: efi.GUID(e.v.GUID)}
}

// actionCalling is edk2's EFI_CALLING_EFI_APPLICATION (PFP §10.4.4.5).
const actionCalling = "Calling EFI Application from Boot Option"

// model is what Predict reads from the current log.
type model struct {
	log   *tpm.EventLog
	banks []tpm.Alg
	// sep[pcr] is the index of the PCR's first EV_SEPARATOR, -1 if none.
	sep [tpm.NumPCRs]int
	// config are PCR 7's driver-config events before its separator.
	config []varEvent
	// boot are PCR 1's boot variable events.
	boot []varEvent
	// auth are PCR 7's authority events after its separator.
	auth []varEvent
	// calling is the last "Calling EFI Application from Boot Option"
	// action and bootApp the first boot application after it (-1: none).
	calling, bootApp int
	// measured holds every variable some event of the log measures.
	measured map[efi.Name]bool
}

func analyze(l *tpm.EventLog) *model {
	m := &model{log: l, banks: l.HashableAlgs(), calling: -1, bootApp: -1, measured: map[efi.Name]bool{}}
	for i := range m.sep {
		m.sep[i] = -1
	}
	for i := range l.Events {
		e := &l.Events[i]
		if e.Type == tpm.EvSeparator && m.sep[e.PCR] < 0 {
			m.sep[e.PCR] = i
		}
		if e.PCR == 4 && e.Type == tpm.EvEFIAction && string(e.Data) == actionCalling {
			m.calling = i
		}
		ve, isVar := m.varEvent(i)
		if isVar && ve.v != nil {
			m.measured[ve.name()] = true
		}
		switch {
		case e.PCR == 7 && e.Type == tpm.EvEFIVariableDriverConfig && m.sep[7] < 0:
			m.config = append(m.config, ve)
		case e.PCR == 1 && (e.Type == tpm.EvEFIVariableBoot || e.Type == tpm.EvEFIVariableBoot2):
			m.boot = append(m.boot, ve)
		case e.PCR == 7 && e.Type == tpm.EvEFIVariableAuthority && m.sep[7] >= 0:
			m.auth = append(m.auth, ve)
		}
	}
	for i := m.calling + 1; m.calling >= 0 && i < len(l.Events); i++ {
		if e := &l.Events[i]; e.PCR == 4 && e.Type == tpm.EvEFIBootServicesApp {
			m.bootApp = i
			break
		}
	}
	return m
}

// isVariableEvent reports whether t carries UEFI_VARIABLE_DATA.
func isVariableEvent(t tpm.EventType) bool {
	switch t {
	case tpm.EvEFIVariableDriverConfig, tpm.EvEFIVariableBoot, tpm.EvEFIVariableBoot2, tpm.EvEFIVariableAuthority:
		return true
	}
	return false
}

// varEvent parses event i as a variable event and finds its digest
// convention in every bank slkit can compute.
func (m *model) varEvent(i int) (varEvent, bool) {
	e := &m.log.Events[i]
	ve := varEvent{idx: i}
	if !isVariableEvent(e.Type) {
		return ve, false
	}
	v, ok := e.UEFIVariable()
	if !ok {
		return ve, true
	}
	ve.v = v
	all, data := len(m.banks) > 0, len(m.banks) > 0
	for _, a := range m.banks {
		d, ok := e.Digests[a]
		if !ok {
			continue
		}
		ha, _ := a.Sum(e.Data)
		hd, _ := a.Sum(v.Data)
		all = all && bytes.Equal(ha, d)
		data = data && bytes.Equal(hd, d)
	}
	switch {
	case all:
		ve.conv = digestAll
	case data:
		ve.conv = digestData
	}
	return ve, true
}

// rebuild returns an event for variable v with data, digested by conv in
// every bank of the model.
func (m *model) rebuild(like *tpm.Event, v *tpm.UEFIVariableData, conv convention) (tpm.Event, error) {
	data := v.Marshal()
	measured := data
	if conv == digestData {
		measured = v.Data
	}
	ds, err := tpm.HashBytes(m.banks, measured)
	if err != nil {
		return tpm.Event{}, err
	}
	return tpm.Event{PCR: like.PCR, Type: like.Type, Digests: ds, Data: data}, nil
}

// values are the variables as the next boot will find them: what the log
// shows, the changes applied, and, for what neither says, the machine's
// current variables when a reader was given.
type values struct {
	known map[efi.Name]*efi.Variable // nil value: absent
	read  func(efi.Name) (*efi.Variable, error)
}

// get returns the variable (nil: absent) and whether it is known.
func (vs *values) get(n efi.Name) (*efi.Variable, bool, error) {
	if v, ok := vs.known[n]; ok {
		return v, true, nil
	}
	if vs.read == nil {
		return nil, false, nil
	}
	v, err := vs.read(n)
	if err != nil {
		return nil, false, err
	}
	vs.known[n] = v
	return v, true, nil
}

// logValues are the values of the variables the log measures with data
// that parses (an absent driver-config variable is measured empty; boot
// entries BootOrder names but the log does not show were absent).
func (m *model) logValues() map[efi.Name]*efi.Variable {
	out := map[efi.Name]*efi.Variable{}
	for _, group := range [][]varEvent{m.config, m.boot} {
		for _, e := range group {
			if e.v == nil {
				continue
			}
			n := e.name()
			if len(e.v.Data) == 0 {
				out[n] = nil
				continue
			}
			out[n] = &efi.Variable{Name: n, Data: e.v.Data}
		}
	}
	if order, ok := out[efi.BootOrder]; ok && order != nil {
		if nums, err := efi.ParseBootOrder(order.Data); err == nil {
			for _, n := range nums {
				bn := efi.Name{Name: m.bootName(n), GUID: efi.GlobalGUID}
				if _, seen := out[bn]; !seen {
					out[bn] = nil
				}
			}
		}
	}
	return out
}
