package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/slkit/slkit/tpm"
)

// EvidenceFormat is the value of Evidence.Format this build reads and writes.
const EvidenceFormat = "slkit-attest-evidence-v1"

// Limits of an evidence bundle, enforced before and while it is parsed:
// generous for real machines (a firmware log is tens of KiB, a TPM
// structure a few hundred bytes), small enough that a hostile bundle
// cannot make the parser allocate without bound.
const (
	// MaxEvidenceSize is the largest bundle file read.
	MaxEvidenceSize = 16 << 20
	// MaxLogSize is the largest event log a bundle carries.
	MaxLogSize = 4 << 20
	// MaxEKCertSize is the largest EK certificate (TCG EK Credential
	// Profile: the NV index holds a DER certificate of about 1 KiB).
	MaxEKCertSize = 16 << 10
	// maxTPMStruct bounds a marshalled TPM structure: a TPMT_PUBLIC,
	// TPMS_ATTEST, TPMS_CREATION_DATA or TPMT_SIGNATURE (Part 2: all well
	// under 2 KiB for RSA-4096).
	maxTPMStruct = 4096
	// maxQuotes bounds the quotes: one per PCR bank.
	maxQuotes = 16
	// maxActivation is a TPM2B_DIGEST's largest buffer (SHA-512).
	maxActivation = 64
)

// Nonce lengths accepted: a TPM takes qualifying data up to the size of a
// TPMT_HA (Part 2 §10.4.3, TPM2B_DATA); fewer than 8 bytes would not keep
// a verifier's nonces apart.
const (
	MinNonce = 8
	MaxNonce = 64
)

// Evidence is what `slkit attest quote` writes: a JSON document
//
//	{"format": "slkit-attest-evidence-v1", "nonce": "<hex>",
//	 "ek": {"nv_index": N, "certificate": "<base64 DER>", "public": "<base64 TPMT_PUBLIC>"},
//	 "ak": {"public", "creation_data", "creation_attestation", "creation_signature"},
//	 "activation": "<base64>",
//	 "quotes": [{"bank": "sha256", "message": "<base64 TPMS_ATTEST>", "signature": "<base64 TPMT_SIGNATURE>"}],
//	 "pcrs": {"banks": {"sha256": {"0": "<hex>", …}}},
//	 "logs": {"firmware", "prelaunch", "drtm": "<base64 TCG event log>"}}
//
// TPM structures are in their TPM 2.0 Part 2 marshalled form (big-endian,
// without a TPM2B size prefix). Fields a machine does not have are left
// out: "certificate" (no EK certificate in NV), "activation" (no challenge
// answered), each log.
type Evidence struct {
	Format string `json:"format"`
	// Nonce is the verifier's nonce, the quotes' qualifying data.
	Nonce HexBytes `json:"nonce"`
	EK    EK       `json:"ek"`
	AK    AK       `json:"ak"`
	// Activation is the secret TPM2_ActivateCredential recovered from the
	// verifier's challenge for this AK (Activate), when one was answered.
	Activation []byte `json:"activation,omitempty"`
	// Quotes holds one TPM2_Quote per bank, in the TPM's bank order.
	Quotes []Quote `json:"quotes"`
	// PCRs are the values quoted, read next to the quotes.
	PCRs *tpm.PCRs `json:"pcrs"`
	Logs Logs      `json:"logs"`
}

// EK is the endorsement key: its certificate from NV (TCG EK Credential
// Profile §2.2.1.4) and the public area its template creates.
type EK struct {
	// NVIndex is the index the certificate was read from (0: none).
	NVIndex uint32 `json:"nv_index,omitempty"`
	// Certificate is the DER X.509 EK certificate, when the TPM has one.
	Certificate []byte `json:"certificate,omitempty"`
	// Public is the EK's TPMT_PUBLIC.
	Public []byte `json:"public"`
}

// AK is the attestation key and the TPM's proof that it created it:
// TPMT_PUBLIC, the TPMS_CREATION_DATA of TPM2_CreatePrimary, and
// TPM2_CertifyCreation's TPMS_ATTEST and TPMT_SIGNATURE (signed by the AK
// itself). These are go-attestation's AttestationParameters.
type AK struct {
	Public              []byte `json:"public"`
	CreationData        []byte `json:"creation_data"`
	CreationAttestation []byte `json:"creation_attestation"`
	CreationSignature   []byte `json:"creation_signature"`
}

// Quote is one TPM2_Quote (Part 3 §18.4) over PCRs of one bank.
type Quote struct {
	Bank tpm.Alg `json:"bank"`
	// Message is the signed TPMS_ATTEST (TPM_ST_ATTEST_QUOTE).
	Message []byte `json:"message"`
	// Signature is the TPMT_SIGNATURE over Message.
	Signature []byte `json:"signature"`
}

// Logs are the TCG event logs of the boot, as read (crypto-agile, PFP
// §10.2.2); a missing log is left out.
type Logs struct {
	// Firmware is the firmware's log (/sys/kernel/security/tpm0/binary_bios_measurements).
	Firmware []byte `json:"firmware,omitempty"`
	// PreLaunch is slkit's pre-launch log (PCR 8 and 9).
	PreLaunch []byte `json:"prelaunch,omitempty"`
	// DRTM is the DRTM log (PCR 17 and 18), without the unused space of
	// the buffer a Secure Launch kernel exposes.
	DRTM []byte `json:"drtm,omitempty"`
}

// Named returns the logs present with their names, in replay order:
// firmware, prelaunch, drtm.
func (l Logs) Named() []NamedLog {
	var out []NamedLog
	for _, n := range []NamedLog{{"firmware", l.Firmware}, {"prelaunch", l.PreLaunch}, {"drtm", l.DRTM}} {
		if n.Bytes != nil {
			out = append(out, n)
		}
	}
	return out
}

// NamedLog is a log and its name in the bundle.
type NamedLog struct {
	Name  string
	Bytes []byte
}

// HexBytes is a byte string written as lowercase hex in JSON.
type HexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("not hex: %w", err)
	}
	*h = v
	return nil
}

// ParseNonce decodes a verifier nonce given as hex (MinNonce to MaxNonce
// bytes).
func ParseNonce(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex: %w", ErrNonce, err)
	}
	if err := checkNonce(b); err != nil {
		return nil, err
	}
	return b, nil
}

func checkNonce(b []byte) error {
	if len(b) < MinNonce || len(b) > MaxNonce {
		return fmt.Errorf("%w: %d bytes, want %d to %d (32 recommended)", ErrNonce, len(b), MinNonce, MaxNonce)
	}
	return nil
}

// Marshal writes the bundle as indented JSON, after the checks
// ParseEvidence makes.
func (e *Evidence) Marshal() ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseEvidence parses and checks the structure of a bundle: its size
// (MaxEvidenceSize, checked first), strict JSON (no unknown field, nothing
// after the document), the format, and the size of every field. It does
// not verify anything cryptographic (package attest/verifier does). Every
// error wraps ErrMalformed (or ErrNonce for the nonce).
func ParseEvidence(b []byte) (*Evidence, error) {
	if len(b) > MaxEvidenceSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), MaxEvidenceSize)
	}
	var e Evidence
	if err := strictJSON(b, &e); err != nil {
		return nil, err
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// strictJSON decodes exactly one JSON document without unknown fields.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: not JSON: %v at byte %d", ErrMalformed, err, se.Offset)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: truncated JSON", ErrMalformed)
		}
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON document", ErrMalformed)
	}
	return nil
}

// validate checks the fields' presence and sizes.
func (e *Evidence) validate() error {
	if e.Format != EvidenceFormat {
		return fmt.Errorf("%w: format %q, this slkit reads %q", ErrMalformed, clip(e.Format), EvidenceFormat)
	}
	if err := checkNonce(e.Nonce); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		b    []byte
		max  int
		need bool
	}{
		{"ek.certificate", e.EK.Certificate, MaxEKCertSize, false},
		{"ek.public", e.EK.Public, maxTPMStruct, true},
		{"ak.public", e.AK.Public, maxTPMStruct, true},
		{"ak.creation_data", e.AK.CreationData, maxTPMStruct, true},
		{"ak.creation_attestation", e.AK.CreationAttestation, maxTPMStruct, true},
		{"ak.creation_signature", e.AK.CreationSignature, maxTPMStruct, true},
		{"activation", e.Activation, maxActivation, false},
		{"logs.firmware", e.Logs.Firmware, MaxLogSize, false},
		{"logs.prelaunch", e.Logs.PreLaunch, MaxLogSize, false},
		{"logs.drtm", e.Logs.DRTM, MaxLogSize, false},
	} {
		if err := checkField(f.name, f.b, f.max, f.need); err != nil {
			return err
		}
	}
	if e.EK.Certificate == nil && e.EK.NVIndex != 0 {
		return fmt.Errorf("%w: ek.nv_index %#x without a certificate", ErrMalformed, e.EK.NVIndex)
	}
	if len(e.Quotes) == 0 || len(e.Quotes) > maxQuotes {
		return fmt.Errorf("%w: %d quotes, want 1 to %d (one per bank)", ErrMalformed, len(e.Quotes), maxQuotes)
	}
	var banks []tpm.Alg
	for i, q := range e.Quotes {
		name := fmt.Sprintf("quotes[%d]", i)
		if !q.Bank.Known() {
			return fmt.Errorf("%w: %s: unknown bank %s", ErrMalformed, name, q.Bank)
		}
		if slices.Contains(banks, q.Bank) {
			return fmt.Errorf("%w: %s: a second %s quote", ErrMalformed, name, q.Bank)
		}
		banks = append(banks, q.Bank)
		if err := checkField(name+".message", q.Message, maxTPMStruct, true); err != nil {
			return err
		}
		if err := checkField(name+".signature", q.Signature, maxTPMStruct, true); err != nil {
			return err
		}
	}
	if e.PCRs == nil || len(e.PCRs.Banks) == 0 {
		return fmt.Errorf("%w: no pcrs", ErrMalformed)
	}
	return nil
}

func checkField(name string, b []byte, max int, need bool) error {
	switch {
	case need && len(b) == 0:
		return fmt.Errorf("%w: %s is missing", ErrMalformed, name)
	case b != nil && len(b) == 0:
		return fmt.Errorf("%w: %s is empty", ErrMalformed, name)
	case len(b) > max:
		return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrMalformed, name, len(b), max)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}
