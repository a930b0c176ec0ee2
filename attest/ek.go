package attest

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// NV indices of EK certificates and the EK templates they certify (TCG EK
// Credential Profile 2.5 §2.2.1.4, "low range"; templates L-1 and L-2 of
// Annex B.3.3/B.3.4, which go-tpm has as RSAEKTemplate and ECCEKTemplate).
const (
	NVRSAEKCert = 0x01c00002 // RSA 2048, template L-1
	NVECCEKCert = 0x01c0000a // ECC NIST P-256, template L-2
)

// ekSpecs are tried in this order; without any certificate the ECC EK
// (faster to create) is used.
var ekSpecs = []struct {
	nv       tpm2.TPMHandle
	template tpm2.TPMTPublic
}{
	{NVECCEKCert, tpm2.ECCEKTemplate},
	{NVRSAEKCert, tpm2.RSAEKTemplate},
}

// nvChunk is the size of one TPM2_NV_Read: a TPM's MAX_NV_BUFFER_SIZE is
// at least 512 bytes (PC Client PTP §4.6.1).
const nvChunk = 512

// endorsementKey is an EK created (transient) from its template, with the
// certificate that certifies it.
type endorsementKey struct {
	handle tpm2.TPMHandle
	name   tpm2.TPM2BName
	public tpm2.TPMTPublic
	cert   []byte
	nv     uint32
}

// loadEK finds the EK certificate in NV (ECC first, then RSA), creates the
// EK its index's template gives, and checks that the certificate certifies
// that key (ErrEK if not). A TPM without a certificate gets the ECC EK.
// close flushes it.
func loadEK(t transport.TPM) (*endorsementKey, error) {
	for _, s := range ekSpecs {
		cert, err := readNV(t, s.nv)
		if errors.Is(err, errNoIndex) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ek, err := createEK(t, s.template)
		if err != nil {
			return nil, err
		}
		ek.cert, ek.nv = trimCert(cert), uint32(s.nv)
		if err := ek.checkCert(); err != nil {
			ek.close(t)
			return nil, err
		}
		return ek, nil
	}
	return createEK(t, tpm2.ECCEKTemplate)
}

func createEK(t transport.TPM, template tpm2.TPMTPublic) (*endorsementKey, error) {
	rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHEndorsement, InPublic: tpm2.New2B(template)}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: CreatePrimary(EK): %w", tpm.ErrTPM, err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}.Execute(t)
		return nil, fmt.Errorf("%w: EK public: %w", tpm.ErrTPM, err)
	}
	return &endorsementKey{handle: rsp.ObjectHandle, name: rsp.Name, public: *pub}, nil
}

// checkCert compares the certificate's key with the EK's. A certificate
// Go cannot parse is kept for the verifier to judge.
func (ek *endorsementKey) checkCert() error {
	c, err := x509.ParseCertificate(ek.cert)
	if err != nil {
		return nil
	}
	k, err := tpm2.Pub(ek.public)
	if err != nil {
		return fmt.Errorf("%w: EK public key: %w", ErrEK, err)
	}
	certKey, err1 := x509.MarshalPKIXPublicKey(c.PublicKey)
	ekKey, err2 := x509.MarshalPKIXPublicKey(k)
	if err1 != nil || err2 != nil || !bytes.Equal(certKey, ekKey) {
		return fmt.Errorf("%w: the certificate in NV index %#x does not certify the EK its template creates", ErrEK, ek.nv)
	}
	return nil
}

func (ek *endorsementKey) close(t transport.TPM) {
	tpm2.FlushContext{FlushHandle: ek.handle}.Execute(t)
}

func (ek *endorsementKey) evidence() EK {
	return EK{NVIndex: ek.nv, Certificate: ek.cert, Public: tpm2.Marshal(ek.public)}
}

var errNoIndex = errors.New("no such NV index")

// readNV reads a whole NV index, authorizing with the index itself and an
// empty password, as EK certificate indices allow (TCG EK Credential
// Profile §2.2.1.5: TPMA_NV_AUTHREAD, empty authValue).
func readNV(t transport.TPM, index tpm2.TPMHandle) ([]byte, error) {
	pub, err := tpm2.NVReadPublic{NVIndex: index}.Execute(t)
	if errors.Is(err, tpm2.TPMRCHandle) {
		return nil, errNoIndex
	}
	if err != nil {
		return nil, fmt.Errorf("%w: NV_ReadPublic(%#x): %w", tpm.ErrTPM, uint32(index), err)
	}
	nv, err := pub.NVPublic.Contents()
	if err != nil {
		return nil, fmt.Errorf("%w: NV %#x public: %w", tpm.ErrTPM, uint32(index), err)
	}
	if int(nv.DataSize) > MaxEKCertSize {
		return nil, fmt.Errorf("%w: NV index %#x holds %d bytes, more than an EK certificate (%d)", ErrEK, uint32(index), nv.DataSize, MaxEKCertSize)
	}
	var out []byte
	for off := 0; off < int(nv.DataSize); off += nvChunk {
		rsp, err := tpm2.NVRead{
			AuthHandle: tpm2.AuthHandle{Handle: index, Name: pub.NVName, Auth: tpm2.PasswordAuth(nil)},
			NVIndex:    tpm2.NamedHandle{Handle: index, Name: pub.NVName},
			Size:       uint16(min(nvChunk, int(nv.DataSize)-off)),
			Offset:     uint16(off),
		}.Execute(t)
		if err != nil {
			return nil, fmt.Errorf("%w: NV_Read(%#x): %w", tpm.ErrTPM, uint32(index), err)
		}
		out = append(out, rsp.Data.Buffer...)
	}
	return out, nil
}

// trimCert removes what some TPMs put around the DER certificate in NV:
// the PC Client "0x10 0x01 0x00 <u16 size>" header, and padding after the
// ASN.1 SEQUENCE. Bytes that are not a SEQUENCE are returned as they are.
func trimCert(b []byte) []byte {
	if len(b) > 5 && bytes.Equal(b[:3], []byte{0x10, 0x01, 0x00}) {
		n := int(b[3])<<8 | int(b[4])
		if n <= len(b)-5 {
			b = b[5 : 5+n]
		}
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(b, &raw); err == nil && raw.Tag == asn1.TagSequence {
		return raw.FullBytes
	}
	return b
}
