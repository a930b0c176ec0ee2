package tpm

import (
	"strings"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/slkit/slkit/internal/errkind"
)

// ReadRequest is a PCR read asked for in text, as a command line gives it
// (`slkit pcr read [PCR...] [--bank ALG...]`): Parse checks it, before
// the TPM is opened.
type ReadRequest struct {
	// PCRs are PCR lists (ParsePCRList: "7", "0-7,14"), taken together;
	// none reads AllPCRs.
	PCRs []string
	// Banks are bank names (ParseAlg), read in the order given; none
	// reads the TPM's active banks (ActiveBanks). A bank slkit cannot
	// hash (SM3-256) can still be read.
	Banks []string
}

// ExtendRequest is a PCR extension asked for in text, as a command line
// gives it (`slkit pcr extend --pcr N --data FILE|--digest ALG:HEX`):
// Parse checks it, before the data file is opened or the TPM is.
type ExtendRequest struct {
	// PCR is the index to extend (0 to NumPCRs-1).
	PCR int
	// Data names the file whose hash (per active bank) is extended
	// (ExtendData); Digest is one bank's digest, "ALG:HEX"
	// (ParseDigestText, Extend). Exactly one is not "".
	Data, Digest string
}

// badRequest is a bad value in a request: its text names the flag or
// the argument (errkind.Input: the CLI's exit code 1).
func badRequest(format string, a ...any) error {
	return errkind.Errorf(errkind.Input, format, a...)
}

// Parse returns the PCR indices and the banks r names (banks nil: the
// active banks). A bad list or bank name is an errkind.Input error:
// ParsePCRList's message, or "--bank: " and ParseAlg's.
func (r ReadRequest) Parse() (idx []int, banks []Alg, err error) {
	idx = AllPCRs()
	if len(r.PCRs) > 0 {
		if idx, err = ParsePCRList(strings.Join(r.PCRs, ",")); err != nil {
			return nil, nil, errkind.Mark(errkind.Input, err)
		}
	}
	for _, b := range r.Banks {
		a, err := ParseAlg(b)
		if err != nil {
			return nil, nil, badRequest("--bank: %w", err)
		}
		banks = append(banks, a)
	}
	return idx, banks, nil
}

// Parse checks r and returns the digests to extend with (nil when Data
// is given: they are the file's hashes in the active banks). A bad value
// is an errkind.Input error naming the flag.
func (r ExtendRequest) Parse() (Digests, error) {
	if r.PCR < 0 || r.PCR >= NumPCRs {
		return nil, badRequest("--pcr %d: not a PCR index 0-%d", r.PCR, NumPCRs-1)
	}
	if (r.Data == "") == (r.Digest == "") {
		return nil, badRequest("pcr extend: give exactly one of --data FILE or --digest ALG:HEX")
	}
	if r.Digest == "" {
		return nil, nil
	}
	ds, err := ParseDigestText(r.Digest)
	if err != nil {
		return nil, badRequest("--digest: %w", err)
	}
	return ds, nil
}

// ReadBanksOrActive reads the PCRs idx in banks, or in every active bank
// (ActiveBanks) when banks is empty: what ReadRequest.Parse asks for.
func ReadBanksOrActive(t transport.TPM, banks []Alg, idx []int) (*PCRs, error) {
	if len(banks) == 0 {
		var err error
		if banks, err = ActiveBanks(t); err != nil {
			return nil, err
		}
	}
	return ReadBanks(t, banks, idx)
}
