package efi

import (
	"encoding/binary"
	"fmt"
)

// Time is an EFI_TIME (UEFI 2.10 §8.3.1). As a timestamp of
// EFI_VARIABLE_AUTHENTICATION_2, Pad1, Nanosecond, TimeZone, Daylight and
// Pad2 must be zero (§8.2.1), which [ParseAuth2] checks.
type Time struct {
	Year                 uint16
	Month, Day           uint8
	Hour, Minute, Second uint8
	Pad1                 uint8
	Nanosecond           uint32
	TimeZone             int16
	Daylight, Pad2       uint8
}

// Compare orders timestamps by year, month, day, hour, minute, second: -1,
// 0 or +1.
func (t Time) Compare(u Time) int {
	a := []int{int(t.Year), int(t.Month), int(t.Day), int(t.Hour), int(t.Minute), int(t.Second)}
	b := []int{int(u.Year), int(u.Month), int(u.Day), int(u.Hour), int(u.Minute), int(u.Second)}
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Bytes encodes the EFI_TIME (16 bytes).
func (t Time) Bytes() []byte { return t.append(nil) }

func (t Time) append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, t.Year)
	b = append(b, t.Month, t.Day, t.Hour, t.Minute, t.Second, t.Pad1)
	b = binary.LittleEndian.AppendUint32(b, t.Nanosecond)
	b = binary.LittleEndian.AppendUint16(b, uint16(t.TimeZone))
	return append(b, t.Daylight, t.Pad2)
}

func parseTime(b []byte) Time {
	return Time{
		Year: binary.LittleEndian.Uint16(b[0:]), Month: b[2], Day: b[3],
		Hour: b[4], Minute: b[5], Second: b[6], Pad1: b[7],
		Nanosecond: binary.LittleEndian.Uint32(b[8:]),
		TimeZone:   int16(binary.LittleEndian.Uint16(b[12:])),
		Daylight:   b[14], Pad2: b[15],
	}
}

// WIN_CERTIFICATE constants (UEFI 2.10 §32.2.4).
const (
	winCertRevision  = 0x0200
	winCertTypeGUID  = 0x0EF1
	winCertUEFIGUIDn = 8 + 16 // Hdr + CertType
)

// Auth2 is the EFI_VARIABLE_AUTHENTICATION_2 descriptor at the start of
// the data of a time-based authenticated write (UEFI 2.10 §8.2.2):
//
//	EFI_TIME TimeStamp                         16 bytes
//	WIN_CERTIFICATE_UEFI_GUID AuthInfo:
//	  UINT32 dwLength   (Hdr + CertType + CertData)
//	  UINT16 wRevision  0x0200
//	  UINT16 wCertificateType  WIN_CERT_TYPE_EFI_GUID (0x0EF1)
//	  EFI_GUID CertType  EFI_CERT_TYPE_PKCS7_GUID
//	  UINT8 CertData[]   DER PKCS#7 SignedData
//
// followed by the new value (Payload).
type Auth2 struct {
	Time    Time
	Cert    []byte
	Payload []byte
}

// ParseAuth2 splits authenticated write data into descriptor and payload.
// It checks the framing and the zero fields; the PKCS#7 signature is left
// to the firmware.
func ParseAuth2(b []byte) (*Auth2, error) {
	if len(b) < 16+winCertUEFIGUIDn {
		return nil, fmt.Errorf("%w authentication descriptor: %d bytes, want at least %d", ErrMalformed, len(b), 16+winCertUEFIGUIDn)
	}
	a := &Auth2{Time: parseTime(b)}
	t := a.Time
	if t.Pad1 != 0 || t.Nanosecond != 0 || t.TimeZone != 0 || t.Daylight != 0 || t.Pad2 != 0 {
		return nil, fmt.Errorf("%w authentication descriptor: timestamp Pad1/Nanosecond/TimeZone/Daylight/Pad2 must be zero", ErrMalformed)
	}
	c := b[16:]
	l := binary.LittleEndian.Uint32(c[0:])
	switch {
	case l < winCertUEFIGUIDn || uint64(l) > uint64(len(c)):
		return nil, fmt.Errorf("%w authentication descriptor: dwLength %d, %d bytes available", ErrMalformed, l, len(c))
	case binary.LittleEndian.Uint16(c[4:]) != winCertRevision:
		return nil, fmt.Errorf("%w authentication descriptor: wRevision %#x, want 0x0200", ErrMalformed, binary.LittleEndian.Uint16(c[4:]))
	case binary.LittleEndian.Uint16(c[6:]) != winCertTypeGUID:
		return nil, fmt.Errorf("%w authentication descriptor: wCertificateType %#x, want WIN_CERT_TYPE_EFI_GUID", ErrMalformed, binary.LittleEndian.Uint16(c[6:]))
	case GUID(c[8:24]) != CertPKCS7GUID:
		return nil, fmt.Errorf("%w authentication descriptor: CertType %s, want EFI_CERT_TYPE_PKCS7_GUID", ErrMalformed, GUID(c[8:24]))
	}
	a.Cert = append([]byte(nil), c[winCertUEFIGUIDn:l]...)
	a.Payload = append([]byte(nil), c[l:]...)
	return a, nil
}

// Marshal encodes the descriptor followed by the payload.
func (a *Auth2) Marshal() []byte {
	b := a.Time.append(make([]byte, 0, 16+winCertUEFIGUIDn+len(a.Cert)+len(a.Payload)))
	b = binary.LittleEndian.AppendUint32(b, uint32(winCertUEFIGUIDn+len(a.Cert)))
	b = binary.LittleEndian.AppendUint16(b, winCertRevision)
	b = binary.LittleEndian.AppendUint16(b, winCertTypeGUID)
	b = append(b, CertPKCS7GUID[:]...)
	b = append(b, a.Cert...)
	return append(b, a.Payload...)
}
