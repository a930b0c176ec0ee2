package attest

import (
	"fmt"
	"slices"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// AllPCRs are the PCRs quoted by default: 0–23, every PCR of a PC Client
// TPM (PTP §4.6.1).
var AllPCRs = tpm.AllPCRs()

type collectConfig struct {
	pcrs       []int
	logs       Logs
	activation []byte
}

// CollectOption configures Collect.
type CollectOption func(*collectConfig)

// WithPCRs quotes these PCRs instead of AllPCRs.
func WithPCRs(pcrs []int) CollectOption { return func(c *collectConfig) { c.pcrs = pcrs } }

// WithLogs puts these event logs into the evidence (ReadLogs reads them).
func WithLogs(l Logs) CollectOption { return func(c *collectConfig) { c.logs = l } }

// WithActivation puts the secret Activate recovered into the evidence.
func WithActivation(secret []byte) CollectOption {
	return func(c *collectConfig) { c.activation = secret }
}

// Collect gathers the evidence for the verifier's nonce: the EK (its
// certificate from NV and its public area), the AK with its creation
// proof, one TPM2_Quote per active bank over the PCRs (AllPCRs) with the
// nonce as qualifying data, the PCR values quoted, and the logs and
// activation secret given. Its TPM traffic: GetCapability, the EK
// certificate's NV_ReadPublic and NV_Reads, CreatePrimary (EK),
// CreatePrimary and CertifyCreation (AK), PCR_Reads, one Quote per bank,
// FlushContext twice.
func Collect(t transport.TPM, nonce []byte, opts ...CollectOption) (*Evidence, error) {
	cfg := collectConfig{pcrs: AllPCRs}
	for _, o := range opts {
		o(&cfg)
	}
	if err := checkNonce(nonce); err != nil {
		return nil, err
	}
	pcrs := slices.Clone(cfg.pcrs)
	slices.Sort(pcrs)
	pcrs = slices.Compact(pcrs)
	if len(pcrs) == 0 || pcrs[0] < 0 || pcrs[len(pcrs)-1] >= tpm.NumPCRs {
		return nil, fmt.Errorf("%w: quote PCRs %v: want indices 0-%d", ErrMalformed, cfg.pcrs, tpm.NumPCRs-1)
	}
	banks, err := tpm.ActiveBanks(t)
	if err != nil {
		return nil, err
	}
	ek, err := loadEK(t)
	if err != nil {
		return nil, err
	}
	ekEv := ek.evidence()
	ek.close(t)
	ak, err := createAK(t)
	if err != nil {
		return nil, err
	}
	defer ak.close(t)
	quotes, vals, err := quoteBanks(t, ak, nonce, banks, pcrs)
	if err != nil {
		return nil, err
	}
	e := &Evidence{
		Format: EvidenceFormat, Nonce: nonce, EK: ekEv, AK: ak.params,
		Activation: cfg.activation, Quotes: quotes, PCRs: vals, Logs: cfg.logs,
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	return e, nil
}
