package tpm

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// NumPCRs is the number of PCRs of a PC Client TPM (PTP §4.6.1).
const NumPCRs = 24

// PCRs holds PCR values per bank. Its JSON form is
//
//	{"banks":{"sha256":{"16":"<hex>",...},...}}
//
// with the PCR index as a decimal string key and lowercase hex values.
type PCRs struct {
	Banks map[Alg]map[int]Digest `json:"banks"`
}

// NewPCRs returns an empty set.
func NewPCRs() *PCRs { return &PCRs{Banks: map[Alg]map[int]Digest{}} }

// Set stores one value.
func (p *PCRs) Set(alg Alg, pcr int, d Digest) {
	if p.Banks == nil {
		p.Banks = map[Alg]map[int]Digest{}
	}
	b := p.Banks[alg]
	if b == nil {
		b = map[int]Digest{}
		p.Banks[alg] = b
	}
	b[pcr] = d
}

// Get returns one value and whether it is present.
func (p *PCRs) Get(alg Alg, pcr int) (Digest, bool) {
	d, ok := p.Banks[alg][pcr]
	return d, ok
}

// Algs returns the banks in ascending TPM_ALG_ID order.
func (p *PCRs) Algs() []Alg {
	out := make([]Alg, 0, len(p.Banks))
	for a := range p.Banks {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Indices returns the PCR indices present in bank alg, ascending.
func (p *PCRs) Indices(alg Alg) []int {
	out := make([]int, 0, len(p.Banks[alg]))
	for i := range p.Banks[alg] {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// Selection returns the set of (bank, PCR) pairs present.
func (p *PCRs) Selection() Selection {
	s := Selection{}
	for _, a := range p.Algs() {
		s[a] = p.Indices(a)
	}
	return s
}

// UnmarshalJSON checks that keys are PCR indices and values hex digests of
// the bank's size.
func (p *PCRs) UnmarshalJSON(b []byte) error {
	var raw struct {
		Banks map[string]map[string]Digest `json:"banks"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw.Banks == nil {
		return fmt.Errorf("PCR values: no \"banks\" object")
	}
	p.Banks = map[Alg]map[int]Digest{}
	for an, vals := range raw.Banks {
		alg, err := ParseAlg(an)
		if err != nil {
			return fmt.Errorf("PCR values: bank %q: %w", an, err)
		}
		for k, d := range vals {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= NumPCRs || strconv.Itoa(i) != k {
				return fmt.Errorf("PCR values: bank %s: %q is not a PCR index 0-%d", alg, k, NumPCRs-1)
			}
			if len(d) != alg.Size() {
				return fmt.Errorf("PCR values: %s PCR %d: %d bytes, want %d", alg, i, len(d), alg.Size())
			}
			p.Set(alg, i, d)
		}
	}
	return nil
}

// Selection names PCR indices per bank.
type Selection map[Alg][]int

// ParsePCRList parses a comma-separated list of PCR indices and ranges,
// "7,8,9" or "0-7,14", into sorted unique indices. "" is the empty list;
// an empty element ("8,,9", "8,") is an error.
func ParsePCRList(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("PCR list %q: an empty element (want indices or ranges separated by single commas)", s)
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 0 || b >= NumPCRs || a > b {
			return nil, fmt.Errorf("PCR list %q: %q is not a PCR index or range within 0-%d", s, part, NumPCRs-1)
		}
		for i := a; i <= b; i++ {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	sort.Ints(out)
	return out, nil
}
