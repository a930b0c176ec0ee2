package attest

import (
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// AKTemplate is the attestation key: a primary key of the endorsement
// hierarchy (so the same TPM gives the same key from its endorsement seed)
// that can only sign structures the TPM itself produced (restricted
// signing key, Part 1 §25.2.2), ECC NIST P-256 with ECDSA-SHA256, which
// never leaves the TPM (fixedTPM, fixedParent, sensitiveDataOrigin). Its
// auth value is empty and not subject to dictionary-attack lockout.
var AKTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgECC,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{
		FixedTPM:            true,
		FixedParent:         true,
		SensitiveDataOrigin: true,
		UserWithAuth:        true,
		NoDA:                true,
		Restricted:          true,
		SignEncrypt:         true,
	},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
		Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
		Scheme: tpm2.TPMTECCScheme{
			Scheme:  tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256}),
		},
		CurveID: tpm2.TPMECCNistP256,
		KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
	}),
	Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
		X: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)},
		Y: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)},
	}),
}

// akHash is the hash of the AK's signing scheme: a quote's PCR digest is
// computed with it (Part 3 §18.4.1).
const akHash = tpm.SHA256

// attestationKey is the AK, loaded (transient), with its creation proof.
type attestationKey struct {
	handle tpm2.TPMHandle
	name   tpm2.TPM2BName
	params AK
}

// createAK creates the AK (TPM2_CreatePrimary in the endorsement
// hierarchy, empty endorsement auth) and has it certify its own creation
// (TPM2_CertifyCreation, Part 3 §18.5): the TPMS_ATTEST names the key and
// digests its creation data, which holds its attributes; signed with the
// key, it shows a verifier that this TPM created this restricted key.
// close flushes it.
func createAK(t transport.TPM) (*attestationKey, error) {
	rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHEndorsement, InPublic: tpm2.New2B(AKTemplate)}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: CreatePrimary(AK): %w", tpm.ErrTPM, err)
	}
	ak := &attestationKey{handle: rsp.ObjectHandle, name: rsp.Name}
	cert, err := tpm2.CertifyCreation{
		SignHandle:     tpm2.AuthHandle{Handle: rsp.ObjectHandle, Name: rsp.Name, Auth: tpm2.PasswordAuth(nil)},
		ObjectHandle:   tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name},
		CreationHash:   rsp.CreationHash,
		InScheme:       tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull},
		CreationTicket: rsp.CreationTicket,
	}.Execute(t)
	if err != nil {
		ak.close(t)
		return nil, fmt.Errorf("%w: CertifyCreation(AK): %w", tpm.ErrTPM, err)
	}
	ak.params = AK{
		Public:              rsp.OutPublic.Bytes(),
		CreationData:        rsp.CreationData.Bytes(),
		CreationAttestation: cert.CertifyInfo.Bytes(),
		CreationSignature:   tpm2.Marshal(cert.Signature),
	}
	return ak, nil
}

func (ak *attestationKey) close(t transport.TPM) {
	tpm2.FlushContext{FlushHandle: ak.handle}.Execute(t)
}

func (ak *attestationKey) auth() tpm2.AuthHandle {
	return tpm2.AuthHandle{Handle: ak.handle, Name: ak.name, Auth: tpm2.PasswordAuth(nil)}
}
