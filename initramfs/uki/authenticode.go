package uki

import (
	"io"

	"github.com/slkit/slkit/tpm"
)

// AuthenticodeDigests computes the image's Authenticode digest in every
// bank of algs (Microsoft Authenticode PE specification, "Calculating the
// PE Image Hash"; edk2's HashPeImage and MeasurePeImageAndExtend hash the
// same ranges for the signature check and for the PCR 4
// EV_EFI_BOOT_SERVICES_APPLICATION event). The file is read once.
func (p *PE) AuthenticodeDigests(algs []tpm.Alg) (tpm.Digests, error) {
	var rs []io.Reader
	for _, r := range p.hashRanges() {
		rs = append(rs, io.NewSectionReader(p.r, r[0], r[1]-r[0]))
	}
	return tpm.HashReader(algs, io.MultiReader(rs...))
}
