package uki

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// DefaultStub is systemd-stub as Debian's systemd-boot-efi installs it.
const DefaultStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// DefaultOSRelease is the .osrel section of a pre-launch UKI.
const DefaultOSRelease = "ID=slkit\nNAME=\"slkit pre-launch environment\"\n"

// maxKernel bounds the kernel image read into a UKI.
const maxKernel = 256 << 20

// BuildInput is what goes into a UKI besides the initramfs.
type BuildInput struct {
	Stub      string // default DefaultStub
	Kernel    string
	Cmdline   string
	OSRelease string // default DefaultOSRelease
	// Sign signs the assembled image (efi/secureboot.SignImage with a db
	// key); nil leaves it unsigned.
	Sign func([]byte) ([]byte, error)
}

// BuildResult describes a built UKI.
type BuildResult struct {
	Size   int64      `json:"size"`
	SHA256 tpm.Digest `json:"sha256"`
	Signed bool       `json:"signed"`
	Layout []Placed   `json:"layout"`
	// App is the Authenticode digest per bank: the firmware's PCR 4 event.
	App tpm.Digests `json:"authenticode"`
	// Initramfs is the embedded pre-launch image's build result.
	Initramfs *initramfs.Result `json:"initramfs"`
}

// Build writes a UKI to out (atomically: on error nothing is left there):
// the pre-launch initramfs built with opts, in.Kernel, in.Cmdline and an
// os-release, put together with the stub by Assemble and signed by
// in.Sign. The same inputs give the same bytes.
func Build(ctx context.Context, out string, in BuildInput, opts ...initramfs.Option) (*BuildResult, error) {
	if in.Stub == "" {
		in.Stub = DefaultStub
	}
	if in.OSRelease == "" {
		in.OSRelease = DefaultOSRelease
	}
	if err := CheckCmdline(in.Cmdline); err != nil {
		return nil, fmt.Errorf("%w: command line: %v", initramfs.ErrInput, err)
	}
	stub, err := readInput(in.Stub, MaxSize, "stub")
	if err != nil {
		return nil, err
	}
	if _, err := ParsePE(bytes.NewReader(stub), int64(len(stub))); err != nil {
		return nil, fmt.Errorf("%w: stub %s: %v", initramfs.ErrInput, in.Stub, err)
	}
	kernel, err := readInput(in.Kernel, maxKernel, "kernel")
	if err != nil {
		return nil, err
	}
	if _, err := ParsePE(bytes.NewReader(kernel), int64(len(kernel))); err != nil {
		return nil, fmt.Errorf("%w: kernel %s: %v (an x86-64 kernel with its EFI stub is a PE image)", initramfs.ErrInput, in.Kernel, err)
	}
	var cpio bytes.Buffer
	res := &BuildResult{Signed: in.Sign != nil}
	if res.Initramfs, err = initramfs.Build(ctx, &cpio, opts...); err != nil {
		return nil, err
	}
	sections := map[string][]byte{".osrel": []byte(in.OSRelease), ".linux": kernel, ".initrd": cpio.Bytes()}
	if in.Cmdline != "" {
		sections[".cmdline"] = []byte(in.Cmdline)
	}
	img, layout, err := Assemble(stub, sections)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Stub, err)
	}
	if in.Sign != nil {
		if img, err = in.Sign(img); err != nil {
			return nil, err
		}
		SetChecksum(img)
	}
	p, err := ParsePE(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		return nil, fmt.Errorf("the assembled UKI does not parse: %w", err)
	}
	if res.App, err = p.AuthenticodeDigests(initramfs.Banks); err != nil {
		return nil, err
	}
	res.Size, res.Layout = int64(len(img)), layout
	s := sha256.Sum256(img)
	res.SHA256 = s[:]
	if err := fsys.WriteFile(fsys.OS{}, out, img, 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

// readInput reads a build input of at most limit bytes.
func readInput(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", initramfs.ErrInput, what, path, unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s %s: larger than %d bytes", initramfs.ErrInput, what, path, limit)
	}
	return b, nil
}

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Text is the build as `slkit initramfs build --uki` prints it: the file,
// its size, who signed it (signer: the certificate file) and how long it
// took, its layout, and the digest the firmware measures into PCR 4.
func (r *BuildResult) Text(out, signer string, seconds float64) string {
	signed := "unsigned"
	if r.Signed {
		signed = "signed with " + signer
	}
	var b strings.Builder
	fmt.Fprintf(&b, "wrote %s: UKI, %d bytes, %s, in %.1fs\nsha256 %s\n", out, r.Size, signed, seconds, r.SHA256)
	for _, p := range r.Layout {
		moved := ""
		if p.Moved {
			moved = fmt.Sprintf(" (moved: systemd-stub(7) puts it at %#x)", Addresses[p.Name])
		}
		fmt.Fprintf(&b, "  %-9s at %#09x, %d bytes%s\n", p.Name, p.VirtualAddress, p.Size, moved)
	}
	b.WriteString("measured by the firmware into PCR 4 (EV_EFI_BOOT_SERVICES_APPLICATION), Authenticode digest:\n")
	for _, a := range initramfs.Banks {
		fmt.Fprintf(&b, "  %-6s %s\n", a, r.App[a])
	}
	return b.String()
}

// Report is a UKI build as `slkit initramfs build --uki --json` prints
// it: the file written, how long the build took, and its BuildResult.
type Report struct {
	Out     string       `json:"out"`
	Seconds float64      `json:"seconds"`
	Result  *BuildResult `json:"result"`
}
