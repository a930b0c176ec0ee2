package tpm

import (
	"fmt"
	"sort"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// ErrTPM wraps failures of TPM commands (the CLI maps it to exit code 2).
var ErrTPM = errkind.New(errkind.IO, "TPM command failed")

// pcrSelect encodes PCR indices as a PC Client TPMS_PCR_SELECTION bitmap
// (at least 3 octets, Part 2 §10.6.1).
func pcrSelect(pcrs []int) []byte {
	u := make([]uint, len(pcrs))
	for i, p := range pcrs {
		u[i] = uint(p)
	}
	return tpm2.PCClientCompatible.PCRs(u...)
}

// SelectedPCRs lists the PCR indices set in a TPMS_PCR_SELECTION bitmap
// (Part 2 §10.6.1), ascending.
func SelectedPCRs(bitmap []byte) []int {
	var out []int
	for i, b := range bitmap {
		for bit := 0; bit < 8; bit++ {
			if b&(1<<bit) != 0 {
				out = append(out, i*8+bit)
			}
		}
	}
	return out
}

// ReadPCRs reads the selected PCRs. A TPM returns at most 8 digests per
// TPM2_PCR_Read (Part 3 §22.4, TPML_DIGEST count), possibly fewer and only
// a prefix of the selection, so ReadPCRs repeats the command with whatever
// is still missing until every value has been returned.
func ReadPCRs(t transport.TPM, sel Selection) (*PCRs, error) {
	out := NewPCRs()
	pending := map[Alg]map[int]bool{}
	for alg, idx := range sel {
		for _, i := range idx {
			if i < 0 || i >= NumPCRs {
				return nil, fmt.Errorf("PCR %d out of range 0-%d", i, NumPCRs-1)
			}
			if pending[alg] == nil {
				pending[alg] = map[int]bool{}
			}
			pending[alg][i] = true
		}
	}
	for len(pending) > 0 {
		var req tpm2.TPMLPCRSelection
		algsSorted := make([]Alg, 0, len(pending))
		for a := range pending {
			algsSorted = append(algsSorted, a)
		}
		sort.Slice(algsSorted, func(i, j int) bool { return algsSorted[i] < algsSorted[j] })
		for _, a := range algsSorted {
			var idx []int
			for i := range pending[a] {
				idx = append(idx, i)
			}
			req.PCRSelections = append(req.PCRSelections, tpm2.TPMSPCRSelection{
				Hash: tpm2.TPMIAlgHash(a), PCRSelect: pcrSelect(idx),
			})
		}
		rsp, err := tpm2.PCRRead{PCRSelectionIn: req}.Execute(t)
		if err != nil {
			return nil, fmt.Errorf("%w: PCR_Read: %w", ErrTPM, err)
		}
		k := 0
		progressed := false
		for _, s := range rsp.PCRSelectionOut.PCRSelections {
			a := Alg(s.Hash)
			for _, i := range SelectedPCRs(s.PCRSelect) {
				if k >= len(rsp.PCRValues.Digests) {
					return nil, fmt.Errorf("%w: PCR_Read returned fewer digests than selected", ErrTPM)
				}
				if pending[a][i] {
					out.Set(a, i, Digest(rsp.PCRValues.Digests[k].Buffer))
					delete(pending[a], i)
					progressed = true
				}
				k++
			}
			if len(pending[a]) == 0 {
				delete(pending, a)
			}
		}
		if !progressed {
			// The TPM returned nothing we asked for: the bank is not allocated.
			for a := range pending {
				return nil, fmt.Errorf("%w: PCR_Read returned no %s values (bank not active?)", ErrTPM, a)
			}
		}
	}
	return out, nil
}

// ReadBanks reads PCRs idx in every bank in algs.
func ReadBanks(t transport.TPM, algs []Alg, idx []int) (*PCRs, error) {
	sel := Selection{}
	for _, a := range algs {
		sel[a] = idx
	}
	return ReadPCRs(t, sel)
}

// Extend extends one PCR with one digest per bank in a single TPM2_PCR_Extend
// (Part 3 §22.2): all banks of an event change together or not at all.
func Extend(t transport.TPM, pcr int, ds Digests) error {
	if pcr < 0 || pcr >= NumPCRs {
		return fmt.Errorf("PCR %d out of range 0-%d", pcr, NumPCRs-1)
	}
	if len(ds) == 0 {
		return fmt.Errorf("extend PCR %d: no digests", pcr)
	}
	var vals tpm2.TPMLDigestValues
	for _, a := range ds.Algs() {
		d := ds[a]
		if len(d) != a.Size() {
			return fmt.Errorf("extend PCR %d: %s digest is %d bytes, want %d", pcr, a, len(d), a.Size())
		}
		vals.Digests = append(vals.Digests, tpm2.TPMTHA{HashAlg: tpm2.TPMIAlgHash(a), Digest: d})
	}
	_, err := tpm2.PCRExtend{
		PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)},
		Digests:   vals,
	}.Execute(t)
	if err != nil {
		return fmt.Errorf("%w: PCR_Extend(%d): %w", ErrTPM, pcr, err)
	}
	return nil
}

// AllPCRs are the indices of every PCR of a PC Client TPM, 0–23 (PTP
// §4.6.1).
func AllPCRs() []int {
	out := make([]int, NumPCRs)
	for i := range out {
		out[i] = i
	}
	return out
}
