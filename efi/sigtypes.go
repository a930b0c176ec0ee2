package efi

// Signature types of EFI_SIGNATURE_LIST (UEFI 2.10 §32.4.1): what the
// SignatureData of each entry holds.
var (
	// CertX509GUID is EFI_CERT_X509_GUID: a DER X.509 certificate.
	CertX509GUID = guid(0xA5C059A1, 0x94E4, 0x4AA7, [8]byte{0x87, 0xB5, 0xAB, 0x15, 0x5C, 0x2B, 0xF0, 0x72})
	// CertSHA256GUID is EFI_CERT_SHA256_GUID: the SHA-256 Authenticode
	// digest of an image.
	CertSHA256GUID = guid(0xC1C41626, 0x504C, 0x4092, [8]byte{0xAC, 0xA9, 0x41, 0xF9, 0x36, 0x93, 0x43, 0x28})
	// CertX509SHA256GUID is EFI_CERT_X509_SHA256_GUID: the SHA-256 of a
	// certificate's TBSCertificate followed by a revocation time (dbx).
	CertX509SHA256GUID = guid(0x3BD2A492, 0x96C0, 0x4079, [8]byte{0xB4, 0x20, 0xFC, 0xF9, 0x8E, 0xF1, 0x03, 0xED})
)

// X509List is a signature list holding one certificate per entry, all
// owned by owner (every certificate of one list must have the same size:
// SignatureSize is per list, so certificates of different sizes go in
// lists of their own, as sbsiglist and edk2's enrolment tools make them).
func X509List(owner GUID, der []byte) SignatureList {
	return SignatureList{Type: CertX509GUID, Size: uint32(16 + len(der)), Signatures: []SignatureData{{Owner: owner, Data: der}}}
}
