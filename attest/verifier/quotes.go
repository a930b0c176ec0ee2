package verifier

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/google/go-attestation/attest"
	"github.com/google/go-tpm/tpm2"

	slattest "github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/tpm"
)

// verifyQuotes checks each quote's nonce against the verifier's (ErrNonce:
// an old or replayed bundle), that it is a TPM-generated quote over one
// bank, the bank it claims, and that the evidence's PCR values are exactly
// the PCRs quoted; then go-attestation's AKPublic.VerifyAll checks every
// signature with the AK and every PCR digest against the values. It
// returns the quoted values, which the logs must replay to.
func verifyQuotes(ev *slattest.Evidence, nonce []byte) (*tpm.PCRs, error) {
	ak, err := attest.ParseAKPublic(ev.AK.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: AK public: %v", ErrQuote, err)
	}
	quoted := tpm.NewPCRs()
	var quotes []attest.Quote
	var pcrs []attest.PCR
	for _, q := range ev.Quotes {
		att, err := tpm2.Unmarshal[tpm2.TPMSAttest](q.Message)
		if err != nil {
			return nil, fmt.Errorf("%w: %s quote: %v", ErrQuote, q.Bank, err)
		}
		if !bytes.Equal(att.ExtraData.Buffer, nonce) {
			return nil, fmt.Errorf("%w: the %s quote is over nonce %x, the verifier's is %x: an old or replayed bundle", ErrNonce, q.Bank, att.ExtraData.Buffer, nonce)
		}
		info, err := att.Attested.Quote()
		if err != nil || att.Magic != tpm2.TPMGeneratedValue || att.Type != tpm2.TPMSTAttestQuote {
			return nil, fmt.Errorf("%w: the %s quote is not a TPM-generated TPMS_QUOTE_INFO", ErrQuote, q.Bank)
		}
		sels := info.PCRSelect.PCRSelections
		if len(sels) != 1 || tpm.Alg(sels[0].Hash) != q.Bank {
			return nil, fmt.Errorf("%w: the quote labelled %s selects other banks than %s alone", ErrQuote, q.Bank, q.Bank)
		}
		h, err := q.Bank.Hash()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrQuote, err)
		}
		for _, i := range tpm.SelectedPCRs(sels[0].PCRSelect) {
			v, ok := ev.PCRs.Get(q.Bank, i)
			if !ok {
				return nil, fmt.Errorf("%w: the %s quote covers PCR %d, the evidence has no value for it", ErrQuote, q.Bank, i)
			}
			quoted.Set(q.Bank, i, v)
			pcrs = append(pcrs, attest.PCR{Index: i, Digest: v, DigestAlg: h})
		}
		quotes = append(quotes, attest.Quote{Quote: q.Message, Signature: q.Signature})
	}
	for _, a := range ev.PCRs.Algs() {
		for _, i := range ev.PCRs.Indices(a) {
			if _, ok := quoted.Get(a, i); !ok {
				return nil, fmt.Errorf("%w: the evidence gives %s PCR %d, which no quote covers", ErrQuote, a, i)
			}
		}
	}
	if err := ak.VerifyAll(quotes, pcrs, nonce); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrQuote, err)
	}
	return quoted, nil
}

// pcrList formats indices compactly: "0-7, 10, 17-18".
func pcrList(idx []int) string {
	idx = slices.Clone(idx)
	slices.Sort(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return joinComma(parts)
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
