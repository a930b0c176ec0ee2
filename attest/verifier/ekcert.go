package verifier

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"slices"

	"github.com/google/go-attestation/attest"
)

// MaxCAFileSize bounds a CA file (--ek-ca): a PEM bundle of certificates.
const MaxCAFileSize = 1 << 20

// oidSAN is subjectAltName (RFC 5280 §4.2.1.6); oidEKCertificate is
// tcg-kp-EKCertificate (TCG EK Credential Profile §3.2.16).
var (
	oidSAN           = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidEKCertificate = asn1.ObjectIdentifier{2, 23, 133, 8, 1}
)

// CAs are the certificate authorities EK certificates must chain to.
type CAs struct {
	roots, intermediates *x509.CertPool
	// Roots names the trust anchors, for messages.
	Roots []string
}

// ParseCAs reads a PEM bundle: every self-signed certificate is a trust
// anchor, every other one an intermediate that may complete a chain to
// one of them (a TPM vendor's root and issuing CA, or swtpm_localca's).
func ParseCAs(b []byte) (*CAs, error) {
	if len(b) > MaxCAFileSize {
		return nil, fmt.Errorf("%w: CA file of %d bytes, more than %d", ErrMalformed, len(b), MaxCAFileSize)
	}
	c := &CAs{roots: x509.NewCertPool(), intermediates: x509.NewCertPool()}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: CA certificate: %w", ErrMalformed, err)
		}
		if bytes.Equal(cert.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(cert) == nil {
			c.roots.AddCert(cert)
			c.Roots = append(c.Roots, cert.Subject.String())
		} else {
			c.intermediates.AddCert(cert)
		}
	}
	if len(c.Roots) == 0 {
		return nil, fmt.Errorf("%w: no self-signed CA certificate (PEM) to trust", ErrMalformed)
	}
	return c, nil
}

// VerifyEK parses an EK certificate with go-attestation (which unwraps
// the NV header some TPMs add and tolerates trailing bytes) and verifies
// its chain to the CAs, for any key usage (an EK certificate's extended
// key usage is tcg-kp-EKCertificate). Its subjectAltName is critical and
// holds only a directoryName with the TPM's manufacturer, model and
// version (TCG EK Credential Profile §3.2.9), which Go's verifier does not
// interpret and would refuse as an unhandled critical extension: it is
// accepted as handled when the certificate carries that extended key
// usage.
func (c *CAs) VerifyEK(der []byte) (*x509.Certificate, error) {
	if len(der) == 0 {
		return nil, fmt.Errorf("%w: the evidence carries no EK certificate (the TPM has none in NV)", ErrEKCertificate)
	}
	cert, err := attest.ParseEKCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEKCertificate, err)
	}
	if slices.ContainsFunc(cert.UnknownExtKeyUsage, oidEKCertificate.Equal) {
		cert.UnhandledCriticalExtensions = slices.DeleteFunc(cert.UnhandledCriticalExtensions, oidSAN.Equal)
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: c.intermediates, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, fmt.Errorf("%w: %q issued by %q: %v", ErrEKCertificate, cert.Subject.String(), cert.Issuer.String(), err)
	}
	return cert, nil
}
