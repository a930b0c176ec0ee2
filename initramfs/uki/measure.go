package uki

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf16"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/nextboot"
	"github.com/slkit/slkit/tpm"
)

// MeasuredSections are the sections systemd-stub 252 measures into PCR 11,
// in its order (src/boot/efi/stub.c: the unified sections but .pcrsig).
var MeasuredSections = []string{".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"}

// Linux EFI stub tagged events (drivers/firmware/efi/libstub, Linux 6.1):
// an EV_EVENT_TAG on PCR 9 whose data is a TCG_PCClientTaggedEvent
// {taggedEventID, taggedEventDataSize, taggedEventData}.
const (
	tagInitrd      = 0x8F3B22EC
	tagLoadOptions = 0x8F3B22ED
	pcrKernelImage = 11 // systemd-stub: TPM_PCR_INDEX_KERNEL_IMAGE
	pcrLinuxStub   = 9
)

// maxCmdline bounds the .cmdline section Measure reads.
const maxCmdline = 64 << 10

// Measure computes, in every bank of banks, what booting the UKI p
// measures, as observed on the rig (OVMF 2022.11, systemd-stub 252, the
// Debian 6.1 kernel) and checked against its firmware event log:
//
//   - PCR 4, by the firmware: EV_EFI_BOOT_SERVICES_APPLICATION with the
//     image's Authenticode digest (Image.App);
//   - PCR 11, by systemd-stub: for each of MeasuredSections the image has,
//     an EV_IPL whose digest is H(the section name in ASCII with its NUL)
//     and one whose digest is H(the section's VirtualSize bytes), both
//     with the name in UTF-16 with its NUL as event data;
//   - PCR 9, by the Linux EFI stub the systemd stub starts: the load
//     options it was given — the .cmdline section as UTF-16 with a NUL —
//     as EV_EVENT_TAG 0x8F3B22ED "LOADED_IMAGE::LoadOptions", then the
//     initrd (.initrd) as EV_EVENT_TAG 0x8F3B22EC "Linux initrd".
//
// With Secure Boot on and a .cmdline section, systemd-stub ignores the
// boot option's load options and measures nothing into PCR 12; the
// embedded kernel is started under its security override and is not
// measured into PCR 4.
func Measure(p *PE, name string, banks []tpm.Alg) (*nextboot.Image, error) {
	app, err := p.AuthenticodeDigests(banks)
	if err != nil {
		return nil, err
	}
	img := &nextboot.Image{Name: name, App: app}
	if sig, err := p.Signature(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	} else if sig != nil {
		if d, _ := p.AuthenticodeDigests([]tpm.Alg{tpm.SHA256}); !bytes.Equal(d[tpm.SHA256], sig.Digest) {
			return nil, fmt.Errorf("%w: %s: the signed digest %x is not the image's %x: the image was changed after signing", ErrFormat, name, sig.Digest, d[tpm.SHA256])
		}
		img.Signer, img.Chain, img.Verifies = sig.Signer, sig.Certs, sig.Verifies
	}
	if p.Section(".linux") == nil {
		return nil, fmt.Errorf("%w: %s has no .linux section: not a UKI", ErrFormat, name)
	}
	for _, n := range MeasuredSections {
		s := p.Section(n)
		if s == nil {
			continue
		}
		if s.VirtualSize > s.RawSize {
			return nil, fmt.Errorf("%w: %s: section %s maps %d bytes but holds %d in the file", ErrFormat, name, n, s.VirtualSize, s.RawSize)
		}
		label := utf16z(n)
		ds, err := tpm.HashBytes(banks, append([]byte(n), 0))
		if err != nil {
			return nil, err
		}
		img.Events = append(img.Events, tpm.Event{PCR: pcrKernelImage, Type: tpm.EvIPL, Digests: ds, Data: label})
		if ds, err = tpm.HashReader(banks, p.SectionReader(s)); err != nil {
			return nil, err
		}
		img.Events = append(img.Events, tpm.Event{PCR: pcrKernelImage, Type: tpm.EvIPL, Digests: ds, Data: label})
	}
	if s := p.Section(".cmdline"); s != nil {
		b, err := p.SectionBytes(s, maxCmdline)
		if err != nil {
			return nil, err
		}
		if err := CheckCmdline(string(b)); err != nil {
			return nil, fmt.Errorf("%w: %s: .cmdline: %v", ErrFormat, name, err)
		}
		img.EmbeddedCmdline = true
		ds, err := tpm.HashBytes(banks, utf16z(string(b)))
		if err != nil {
			return nil, err
		}
		img.Events = append(img.Events, tpm.Event{PCR: pcrLinuxStub, Type: tpm.EvEventTag, Digests: ds, Data: taggedEvent(tagLoadOptions, "LOADED_IMAGE::LoadOptions")})
	}
	if s := p.Section(".initrd"); s != nil {
		ds, err := tpm.HashReader(banks, p.SectionReader(s))
		if err != nil {
			return nil, err
		}
		img.Events = append(img.Events, tpm.Event{PCR: pcrLinuxStub, Type: tpm.EvEventTag, Digests: ds, Data: taggedEvent(tagInitrd, "Linux initrd")})
	}
	return img, nil
}

// MeasureFile is Measure of the UKI file at path (read through
// fsys.OpenInput: a regular file, never a FIFO) in banks; a problem with
// the file is an *fsys.InputError naming it.
func MeasureFile(path string, banks []tpm.Alg) (*nextboot.Image, error) {
	f, err := fsys.OpenInput(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fsys.NameInput(path, err)
	}
	p, err := ParsePE(f, st.Size())
	if err == nil {
		var img *nextboot.Image
		if img, err = Measure(p, path, banks); err == nil {
			return img, nil
		}
	}
	return nil, &fsys.InputError{Path: path, Err: err}
}

// CheckCmdline refuses a command line whose measurement Measure does not
// model: systemd-stub converts .cmdline byte by byte to UTF-16 up to the
// first NUL, so only printable ASCII without a NUL is measured as written.
func CheckCmdline(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("byte %d is %#x: only printable ASCII is supported", i, s[i])
		}
	}
	return nil
}

// utf16z is s in UTF-16LE with a terminating NUL.
func utf16z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

// taggedEvent is a TCG_PCClientTaggedEvent with an ASCII description and
// its NUL (PFP §10.4.2.2; the Linux EFI stub's layout).
func taggedEvent(id uint32, desc string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, id)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)+1))
	return append(append(b, desc...), 0)
}
