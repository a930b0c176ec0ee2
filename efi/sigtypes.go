package efi

// Signature types of EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1): what the
// SignatureData of each entry holds.
var (
	// CertX509GUID is EFI_CERT_X509_GUID: a DER X.509 certificate.
	CertX509GUID = mustGUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	// CertSHA256GUID is EFI_CERT_SHA256_GUID: the SHA-256 Authenticode
	// digest of an image.
	CertSHA256GUID = mustGUID("c1c41626-504c-4092-aca9-41f936934328")
	// CertX509SHA256GUID is EFI_CERT_X509_SHA256_GUID: the SHA-256 of a
	// certificate's TBSCertificate followed by a revocation time (dbx).
	CertX509SHA256GUID = mustGUID("3bd2a492-96c0-4079-b420-fcf98ef103ed")
)

// X509List is a signature list holding one certificate per entry, all
// owned by owner (every certificate of one list must have the same size:
// SignatureSize is per list, so certificates of different sizes go in
// lists of their own, as sbsiglist and edk2's enrolment tools make them).
func X509List(owner GUID, der []byte) SignatureList {
	return SignatureList{Type: CertX509GUID, Size: uint32(16 + len(der)), Signatures: []SignatureData{{Owner: owner, Data: der}}}
}
