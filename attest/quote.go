package attest

import (
	"bytes"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// quoteTries bounds how often a quote is taken again when a PCR changed
// between reading the values and quoting them (IMA extends PCR 10 while
// the system runs).
const quoteTries = 5

// quoteBanks quotes pcrs in each bank with the AK and nonce (one
// TPM2_Quote per bank, Part 3 §18.4) and returns the quotes with the PCR
// values they cover. The values are read with TPM2_PCR_Read before the
// quotes; each quote's PCR digest must equal the digest of those values,
// else everything is read and quoted again.
func quoteBanks(t transport.TPM, ak *attestationKey, nonce []byte, banks []tpm.Alg, pcrs []int) ([]Quote, *tpm.PCRs, error) {
	var last error
	for try := 0; try < quoteTries; try++ {
		vals, err := tpm.ReadBanks(t, banks, pcrs)
		if err != nil {
			return nil, nil, err
		}
		quotes := make([]Quote, 0, len(banks))
		for _, a := range banks {
			q, err := quoteBank(t, ak, nonce, a, pcrs)
			if err != nil {
				return nil, nil, err
			}
			quotes = append(quotes, *q)
		}
		if last = quotesMatch(quotes, vals, pcrs); last == nil {
			return quotes, vals, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: after %d tries: %w", ErrQuote, quoteTries, last)
}

func quoteBank(t transport.TPM, ak *attestationKey, nonce []byte, bank tpm.Alg, pcrs []int) (*Quote, error) {
	sel := make([]uint, len(pcrs))
	for i, p := range pcrs {
		sel[i] = uint(p)
	}
	rsp, err := tpm2.Quote{
		SignHandle:     ak.auth(),
		QualifyingData: tpm2.TPM2BData{Buffer: nonce},
		InScheme:       tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull},
		PCRSelect: tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{
			{Hash: tpm2.TPMIAlgHash(bank), PCRSelect: tpm2.PCClientCompatible.PCRs(sel...)},
		}},
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: Quote(%s): %w", tpm.ErrTPM, bank, err)
	}
	return &Quote{Bank: bank, Message: rsp.Quoted.Bytes(), Signature: tpm2.Marshal(rsp.Signature)}, nil
}

// quotesMatch checks each quote's PCR digest against the values read: the
// AK's hash over the selected values in selection order (Part 3 §18.4.1).
// It only decides whether to quote again; the verifier checks everything.
func quotesMatch(quotes []Quote, vals *tpm.PCRs, pcrs []int) error {
	for _, q := range quotes {
		att, err := tpm2.Unmarshal[tpm2.TPMSAttest](q.Message)
		if err != nil {
			return fmt.Errorf("quote %s: %w", q.Bank, err)
		}
		info, err := att.Attested.Quote()
		if err != nil {
			return fmt.Errorf("quote %s: %w", q.Bank, err)
		}
		var all []byte
		for _, i := range pcrs {
			v, _ := vals.Get(q.Bank, i)
			all = append(all, v...)
		}
		d, err := akHash.Sum(all)
		if err != nil {
			return err
		}
		if !bytes.Equal(d, info.PCRDigest.Buffer) {
			return fmt.Errorf("the %s quote's PCR digest is not the digest of the PCR values read before it", q.Bank)
		}
	}
	return nil
}
