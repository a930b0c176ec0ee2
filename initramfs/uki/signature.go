package uki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// maxCertTable bounds the attribute certificate table slkit reads.
const maxCertTable = 1 << 20

// WIN_CERTIFICATE (Microsoft PE Format, "The Attribute Certificate
// Table"): dwLength, wRevision 0x0200, wCertificateType, bCertificate,
// each entry 8-byte aligned.
const (
	winCertRevision       = 0x0200
	winCertPKCSSignedData = 0x0002
)

var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSpcIndirectData   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
)

// Signature is an image's Authenticode signature, as far as the firmware's
// check and slkit's prediction of it need: the SHA-256 image digest it
// signs, the signer's certificate and the other certificates it carries.
type Signature struct {
	Digest []byte
	Signer *x509.Certificate
	Certs  []*x509.Certificate
}

// Signature parses the first WIN_CERT_TYPE_PKCS_SIGNED_DATA entry of the
// certificate table (nil, nil for an unsigned image) and checks that its
// signer's RSA signature over it verifies. Only what edk2 accepts for
// Authenticode is understood: a PKCS#7 SignedData over an
// SpcIndirectDataContent with a SHA-256 DigestInfo, RSA PKCS#1 v1.5 over
// SHA-256, with or without authenticated attributes.
func (p *PE) Signature() (*Signature, error) {
	if p.CertSize == 0 {
		return nil, nil
	}
	if p.CertSize > maxCertTable {
		return nil, fmt.Errorf("%w: certificate table of %d bytes, more than %d", ErrFormat, p.CertSize, maxCertTable)
	}
	tab := make([]byte, p.CertSize)
	if _, err := p.r.ReadAt(tab, int64(p.CertOffset)); err != nil && err != io.EOF {
		return nil, err
	}
	for off := 0; off+8 <= len(tab); {
		l := int(binary.LittleEndian.Uint32(tab[off:]))
		rev, typ := binary.LittleEndian.Uint16(tab[off+4:]), binary.LittleEndian.Uint16(tab[off+6:])
		if l < 8 || l > len(tab)-off {
			return nil, fmt.Errorf("%w: WIN_CERTIFICATE at %d: length %d, %d bytes left", ErrFormat, off, l, len(tab)-off)
		}
		if rev == winCertRevision && typ == winCertPKCSSignedData {
			return parseSignedData(tab[off+8 : off+l])
		}
		off += (l + 7) &^ 7
	}
	return nil, fmt.Errorf("%w: no PKCS#7 signature in the certificate table", ErrFormat)
}

func malformed(what string) error {
	return fmt.Errorf("%w: Authenticode signature: %s", ErrFormat, what)
}

// parseSignedData reads a ContentInfo holding a SignedData (RFC 2315 §9.1).
func parseSignedData(der []byte) (*Signature, error) {
	in := cryptobyte.String(der)
	var ci, sd, sdBody cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidSignedData) ||
		!ci.ReadASN1(&sd, cbasn1.Tag(0).ContextSpecific().Constructed()) || !sd.ReadASN1(&sdBody, cbasn1.SEQUENCE) {
		return nil, malformed("not a PKCS#7 SignedData")
	}
	var version int64
	var algs, content, contentVal cryptobyte.String
	if !sdBody.ReadASN1Integer(&version) || !sdBody.ReadASN1(&algs, cbasn1.SET) || !sdBody.ReadASN1(&content, cbasn1.SEQUENCE) ||
		!content.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidSpcIndirectData) ||
		!content.ReadASN1(&contentVal, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, malformed("no SpcIndirectDataContent")
	}
	var idc cryptobyte.String
	if !contentVal.ReadASN1(&idc, cbasn1.SEQUENCE) {
		return nil, malformed("bad SpcIndirectDataContent")
	}
	signedContent := []byte(idc) // RFC 2315 §9.3: the content's contents octets
	var spcData, digestInfo, digAlg, digest cryptobyte.String
	if !idc.ReadASN1(&spcData, cbasn1.SEQUENCE) || !idc.ReadASN1(&digestInfo, cbasn1.SEQUENCE) ||
		!digestInfo.ReadASN1(&digAlg, cbasn1.SEQUENCE) || !digAlg.ReadASN1ObjectIdentifier(&oid) ||
		!digestInfo.ReadASN1(&digest, cbasn1.OCTET_STRING) {
		return nil, malformed("bad DigestInfo")
	}
	if !oid.Equal(oidSHA256) || len(digest) != sha256.Size {
		return nil, malformed(fmt.Sprintf("image digest algorithm %v, want SHA-256", oid))
	}
	s := &Signature{Digest: append([]byte(nil), digest...)}
	if sdBody.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific().Constructed()) {
		var certs cryptobyte.String
		if !sdBody.ReadASN1(&certs, cbasn1.Tag(0).ContextSpecific().Constructed()) {
			return nil, malformed("bad certificates")
		}
		for !certs.Empty() {
			var c cryptobyte.String
			if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
				return nil, malformed("bad certificate")
			}
			cert, err := x509.ParseCertificate(c)
			if err != nil {
				return nil, malformed(err.Error())
			}
			s.Certs = append(s.Certs, cert)
		}
	}
	if sdBody.PeekASN1Tag(cbasn1.Tag(1).ContextSpecific().Constructed()) {
		sdBody.SkipASN1(cbasn1.Tag(1).ContextSpecific().Constructed())
	}
	var infos, si cryptobyte.String
	if !sdBody.ReadASN1(&infos, cbasn1.SET) || !infos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, malformed("no SignerInfo")
	}
	return s, s.verifySignerInfo(si, signedContent)
}

// verifySignerInfo finds the signer's certificate by issuer and serial
// number and checks its signature (RFC 2315 §9.2-9.4).
func (s *Signature) verifySignerInfo(si cryptobyte.String, content []byte) error {
	var version int64
	var ias, issuer, alg, encAlg cryptobyte.String
	serial := new(big.Int)
	var oid, encOID asn1.ObjectIdentifier
	if !si.ReadASN1Integer(&version) || !si.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!ias.ReadASN1Integer(serial) || !si.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return malformed("bad SignerInfo")
	}
	if !oid.Equal(oidSHA256) {
		return malformed(fmt.Sprintf("signer digest algorithm %v, want SHA-256", oid))
	}
	for _, c := range s.Certs {
		if bytes.Equal(c.RawIssuer, issuer) && c.SerialNumber.Cmp(serial) == 0 {
			s.Signer = c
			break
		}
	}
	if s.Signer == nil {
		return malformed("the signer's certificate is not in the signature")
	}
	h := sha256.Sum256(content)
	signed := h[:]
	if si.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific().Constructed()) {
		var attrs cryptobyte.String
		if !si.ReadASN1Element(&attrs, cbasn1.Tag(0).ContextSpecific().Constructed()) {
			return malformed("bad authenticated attributes")
		}
		md, err := messageDigest(attrs)
		if err != nil {
			return err
		}
		if !bytes.Equal(md, h[:]) {
			return malformed("the messageDigest attribute does not match the signed content")
		}
		// The signature covers the attributes encoded as a SET OF (tag 0x31).
		set := append([]byte{0x31}, attrs[1:]...)
		ah := sha256.Sum256(set)
		signed = ah[:]
	}
	var sig cryptobyte.String
	if !si.ReadASN1(&encAlg, cbasn1.SEQUENCE) || !encAlg.ReadASN1ObjectIdentifier(&encOID) || !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return malformed("bad signature")
	}
	if !encOID.Equal(oidRSAEncryption) && !encOID.Equal(oidSHA256WithRSA) {
		return malformed(fmt.Sprintf("signature algorithm %v, want RSA", encOID))
	}
	pub, ok := s.Signer.PublicKey.(*rsa.PublicKey)
	if !ok {
		return malformed("the signer's key is not RSA")
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, signed, sig); err != nil {
		return fmt.Errorf("%w: Authenticode signature does not verify under its signer's key", ErrFormat)
	}
	return nil
}

// messageDigest returns the messageDigest authenticated attribute.
func messageDigest(attrs cryptobyte.String) ([]byte, error) {
	var body cryptobyte.String
	if !attrs.ReadASN1(&body, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, malformed("bad authenticated attributes")
	}
	for !body.Empty() {
		var a, vals, v cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !body.ReadASN1(&a, cbasn1.SEQUENCE) || !a.ReadASN1ObjectIdentifier(&oid) || !a.ReadASN1(&vals, cbasn1.SET) {
			return nil, malformed("bad attribute")
		}
		if oid.Equal(oidAttrMessageDigest) {
			if !vals.ReadASN1(&v, cbasn1.OCTET_STRING) {
				return nil, malformed("bad messageDigest")
			}
			return v, nil
		}
	}
	return nil, malformed("no messageDigest attribute")
}

// Verifies reports whether a certificate that db trusts (an
// EFI_CERT_X509 entry) verifies the signature, as edk2's Pkcs7Verify does
// with it as the only trusted certificate: the signer is that certificate,
// or a chain from the signer through the signature's certificates ends in
// a certificate it issued. Validity times are not checked (edk2 does not).
func (s *Signature) Verifies(trusted *x509.Certificate) bool {
	cur := s.Signer
	for depth := 0; depth <= len(s.Certs) && cur != nil; depth++ {
		if cur.Equal(trusted) || (bytes.Equal(cur.RawIssuer, trusted.RawSubject) && cur.CheckSignatureFrom(trusted) == nil) {
			return true
		}
		var next *x509.Certificate
		for _, c := range s.Certs {
			if c != cur && bytes.Equal(cur.RawIssuer, c.RawSubject) && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		cur = next
	}
	return false
}
