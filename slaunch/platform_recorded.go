package slaunch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Recording is a Platform that answers from recorded register values. Its
// JSON form (testdata/platforms/*.json) is
//
//	{
//	  "comment": "what machine this is",
//	  "cpuid": {"0x1": ["0x000906ea", "0x00100800", "0x7ffafbbf", "0xbfebfbff"], "0x7.0": [...]},
//	  "msr":   {"0x3a": "0xff07", "0x17": "0x0004000000000000"},
//	  "txt":   {"0x0": "0x0000000000000092", "0x8": "0x0"},
//	  "tpm":   {"present": true, "device": "/dev/tpm0", "version_major": 2, "locality": -1},
//	  "msr_error": "…", "txt_error": "…", "tpm_error": "…"
//	}
//
// CPUID keys are "LEAF" or "LEAF.SUBLEAF" (subleaf 0 when left out); MSR
// values are those of CPU 0. A read the recording does not hold returns an
// error wrapping ErrNotRecorded, or the recorded *_error text when one is
// given (a machine without /dev/mem, say).
type Recording struct {
	Comment  string            `json:"comment,omitempty"`
	CPUIDs   map[string][4]Reg `json:"cpuid"`
	MSRs     map[string]Reg    `json:"msr,omitempty"`
	TXTRegs  map[string]Reg    `json:"txt,omitempty"`
	TPMInfo  *TPMInfo          `json:"tpm,omitempty"`
	MSRError string            `json:"msr_error,omitempty"`
	TXTError string            `json:"txt_error,omitempty"`
	TPMError string            `json:"tpm_error,omitempty"`

	mu sync.Mutex
}

// Reg is a register value; it is written as a "0x…" string in JSON.
type Reg uint64

func (h Reg) MarshalText() ([]byte, error) {
	return []byte("0x" + strconv.FormatUint(uint64(h), 16)), nil
}

func (h *Reg) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 0, 64)
	if err != nil {
		return fmt.Errorf("register value %q: want a number such as 0x1f", b)
	}
	*h = Reg(v)
	return nil
}

// ParseRecording reads a recording's JSON; unknown fields and malformed
// keys are errors.
func ParseRecording(b []byte) (*Recording, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	r := &Recording{}
	if err := d.Decode(r); err != nil {
		return nil, fmt.Errorf("platform recording: %w", err)
	}
	// Keys are rewritten in one canonical form ("0x1", "0x7.1", "0x3a"), so
	// that two spellings of one register ("1" and "0x01") are an error
	// rather than a coin toss.
	cpuids := map[string][4]Reg{}
	for k, v := range r.CPUIDs {
		l, sub, err := parseCPUIDKey(k)
		if err != nil {
			return nil, fmt.Errorf("platform recording: %w", err)
		}
		c := cpuidKey(l, sub)
		if _, dup := cpuids[c]; dup {
			return nil, fmt.Errorf("platform recording: cpuid leaf %s is given twice", c)
		}
		cpuids[c] = v
	}
	r.CPUIDs = cpuids
	for what, m := range map[string]*map[string]Reg{"msr": &r.MSRs, "txt": &r.TXTRegs} {
		canon := map[string]Reg{}
		for k, v := range *m {
			n, err := strconv.ParseUint(k, 0, 32)
			if err != nil {
				return nil, fmt.Errorf("platform recording: %s key %q: want a number such as 0x3a", what, k)
			}
			c := fmt.Sprintf("%#x", n)
			if _, dup := canon[c]; dup {
				return nil, fmt.Errorf("platform recording: %s register %s is given twice", what, c)
			}
			canon[c] = v
		}
		if *m != nil {
			*m = canon
		}
	}
	return r, nil
}

func cpuidKey(leaf, subleaf uint32) string {
	if subleaf == 0 {
		return fmt.Sprintf("%#x", leaf)
	}
	return fmt.Sprintf("%#x.%d", leaf, subleaf)
}

func parseCPUIDKey(k string) (leaf, subleaf uint32, err error) {
	l, s, hasSub := strings.Cut(k, ".")
	lv, err1 := strconv.ParseUint(l, 0, 32)
	var sv uint64
	var err2 error
	if hasSub {
		sv, err2 = strconv.ParseUint(s, 0, 32)
	}
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("cpuid key %q: want LEAF or LEAF.SUBLEAF", k)
	}
	return uint32(lv), uint32(sv), nil
}

// CPUID implements Platform.
func (r *Recording) CPUID(leaf, subleaf uint32) (CPUIDResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.CPUIDs[cpuidKey(leaf, subleaf)]; ok {
		return CPUIDResult{uint32(v[0]), uint32(v[1]), uint32(v[2]), uint32(v[3])}, nil
	}
	return CPUIDResult{}, fmt.Errorf("CPUID %s: %w", cpuidKey(leaf, subleaf), ErrNotRecorded)
}

// ReadMSR implements Platform (the recorded values are CPU 0's).
func (r *Recording) ReadMSR(cpu int, msr uint32) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return lookup(r.MSRs, r.MSRError, "read MSR", msr)
}

// ReadTXT implements Platform.
func (r *Recording) ReadTXT(off uint32) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return lookup(r.TXTRegs, r.TXTError, "read TXT register", off)
}

// lookup answers a register read: the recorded error text, the value, or
// ErrNotRecorded. The caller holds the recording's lock.
func lookup(m map[string]Reg, errText, what string, key uint32) (uint64, error) {
	if errText != "" {
		return 0, fmt.Errorf("%s %#x: %s", what, key, errText)
	}
	if v, ok := m[fmt.Sprintf("%#x", key)]; ok {
		return uint64(v), nil
	}
	return 0, fmt.Errorf("%s %#x: %w", what, key, ErrNotRecorded)
}

// TPM implements Platform.
func (r *Recording) TPM() (TPMInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.TPMError != "" {
		return TPMInfo{Locality: -1}, errors.New(r.TPMError)
	}
	if r.TPMInfo == nil {
		return TPMInfo{Locality: -1}, fmt.Errorf("TPM: %w", ErrNotRecorded)
	}
	return *r.TPMInfo, nil
}

// Record wraps p so that every successful read is also stored in rec,
// and the first failure of each kind as rec's *_error text; saving rec as
// JSON gives a fixture that replays the same probe.
func Record(p Platform, rec *Recording) Platform { return &recorder{p: p, rec: rec} }

type recorder struct {
	p   Platform
	rec *Recording
}

func (r *recorder) CPUID(leaf, subleaf uint32) (CPUIDResult, error) {
	v, err := r.p.CPUID(leaf, subleaf)
	if err == nil {
		r.rec.mu.Lock()
		if r.rec.CPUIDs == nil {
			r.rec.CPUIDs = map[string][4]Reg{}
		}
		r.rec.CPUIDs[cpuidKey(leaf, subleaf)] = [4]Reg{Reg(v.EAX), Reg(v.EBX), Reg(v.ECX), Reg(v.EDX)}
		r.rec.mu.Unlock()
	}
	return v, err
}

func (r *recorder) ReadMSR(cpu int, msr uint32) (uint64, error) {
	v, err := r.p.ReadMSR(cpu, msr)
	if cpu == 0 || err != nil {
		r.store(&r.rec.MSRs, &r.rec.MSRError, msr, v, err)
	}
	return v, err
}

func (r *recorder) ReadTXT(off uint32) (uint64, error) {
	v, err := r.p.ReadTXT(off)
	r.store(&r.rec.TXTRegs, &r.rec.TXTError, off, v, err)
	return v, err
}

// store keeps a value read, or the first error of its kind.
func (r *recorder) store(m *map[string]Reg, errText *string, key uint32, v uint64, err error) {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	switch {
	case err != nil && *errText == "":
		// The replay adds "read MSR 0x3a: " itself: keep only the cause.
		if cause := errors.Unwrap(err); cause != nil {
			err = cause
		}
		*errText = err.Error()
	case err == nil:
		if *m == nil {
			*m = map[string]Reg{}
		}
		(*m)[fmt.Sprintf("%#x", key)] = Reg(v)
	}
}

func (r *recorder) TPM() (TPMInfo, error) {
	v, err := r.p.TPM()
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	if err != nil {
		r.rec.TPMError = err.Error()
	} else {
		r.rec.TPMInfo = &v
	}
	return v, err
}

// MarshalJSON writes the recording; encoding/json sorts map keys, so a
// saved fixture is stable.
func (r *Recording) MarshalJSON() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	type plain Recording // no MarshalJSON method: no recursion
	return json.Marshal((*plain)(r))
}
