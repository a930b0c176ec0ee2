package uki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/foxboron/go-uefi/authenticode"

	"github.com/slkit/slkit/efi/secureboot"
	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// need returns the path of a tool or file `make deps` installs, skipping
// (failing with SLKIT_REQUIRE_RIG=1) without it.
func need(t testing.TB, path, pkg string) string {
	t.Helper()
	p := path
	if !strings.Contains(path, "/") {
		var err error
		if p, err = exec.LookPath(path); err != nil {
			p = ""
		}
	} else if _, err := os.Stat(path); err != nil {
		p = ""
	}
	if p == "" {
		if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
			t.Fatalf("%s (Debian %s) missing (SLKIT_REQUIRE_RIG=1): run make deps", path, pkg)
		}
		t.Skipf("%s (Debian %s) missing: run make deps", path, pkg)
	}
	return p
}

func stub(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(need(t, DefaultStub, "systemd-boot-efi"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// filler is n deterministic bytes.
func filler(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

var testSections = map[string][]byte{
	".osrel": []byte(DefaultOSRelease), ".cmdline": []byte("console=ttyS0 quiet"),
	".linux": filler(3<<20, 1), ".initrd": filler(1<<20+123, 2),
}

// TestStubChecksum: Checksum gives the PE checksum the stub's linker
// wrote.
func TestStubChecksum(t *testing.T) {
	s := stub(t)
	p, _ := ParsePE(bytes.NewReader(s), int64(len(s)))
	stored := binary.LittleEndian.Uint32(s[p.optOff+optChecksum:])
	if got := Checksum(s); got != stored {
		t.Fatalf("checksum %#x, the stub says %#x", got, stored)
	}
}

// objdumpSections lists name → (VMA, size, file offset) as binutils'
// objdump -h reads them.
func objdumpSections(t *testing.T, img []byte) map[string][3]uint64 {
	t.Helper()
	bin := need(t, "objdump", "binutils")
	f := filepath.Join(t.TempDir(), "uki.efi")
	os.WriteFile(f, img, 0o600)
	out, err := exec.Command(bin, "-h", f).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump: %v: %s", err, out)
	}
	re := regexp.MustCompile(`(?m)^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)`)
	m := map[string][3]uint64{}
	for _, x := range re.FindAllStringSubmatch(string(out), -1) {
		size, _ := strconv.ParseUint(x[2], 16, 64)
		vma, _ := strconv.ParseUint(x[3], 16, 64)
		off, _ := strconv.ParseUint(x[4], 16, 64)
		m[x[1]] = [3]uint64{vma, size, off}
	}
	return m
}

// TestAssembleLayout: objdump finds each section at systemd-stub(7)'s
// address with the given bytes; with a kernel over 16 MiB, .initrd moves
// to the page after .linux and nothing overlaps; the same inputs give the
// same bytes.
func TestAssembleLayout(t *testing.T) {
	s := stub(t)
	img, _, err := Assemble(s, testSections)
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := Assemble(s, testSections)
	if !bytes.Equal(img, again) {
		t.Error("two assemblies differ")
	}
	secs := objdumpSections(t, img)
	for n, data := range testSections {
		x, ok := secs[n]
		if !ok {
			t.Fatalf("objdump does not list %s", n)
		}
		if x[0] != uint64(Addresses[n]) || x[1] < uint64(len(data)) || !bytes.Equal(img[x[2]:x[2]+uint64(len(data))], data) {
			t.Errorf("%s: objdump says VMA %#x size %#x at %#x; want %#x with the section's bytes", n, x[0], x[1], x[2], Addresses[n])
		}
	}
	if len(img)%512 != 0 || Checksum(img) != binary.LittleEndian.Uint32(img[0x80+24+optChecksum:]) {
		t.Error("length not file-aligned or checksum not set")
	}

	big := map[string][]byte{".linux": filler(20<<20, 3), ".initrd": []byte("initrd")}
	img, placed, err := Assemble(s, big)
	if err != nil {
		t.Fatal(err)
	}
	secs = objdumpSections(t, img)
	linux, initrd := secs[".linux"], secs[".initrd"]
	if linux[0] != 0x2000000 || initrd[0] < linux[0]+linux[1] || initrd[0]%0x1000 != 0 {
		t.Errorf(".linux at %#x+%#x, .initrd at %#x: want .initrd moved past .linux", linux[0], linux[1], initrd[0])
	}
	if !placed[1].Moved || placed[0].Moved {
		t.Errorf("placement %+v", placed)
	}
}

var (
	keySetOnce sync.Once
	keySet     *secureboot.KeySet
)

func dbKey(t *testing.T) (secureboot.Key, string) {
	t.Helper()
	keySetOnce.Do(func() { keySet, _ = secureboot.GenerateKeySet(time.Now()) })
	if keySet == nil {
		t.Fatal("key generation failed")
	}
	dir := t.TempDir()
	write := func(name string, der []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		return p
	}
	write("KEK.crt", keySet.Keys[secureboot.RoleKEK].Cert.Raw)
	return keySet.Keys[secureboot.RoleDB], write("db.crt", keySet.Keys[secureboot.RoleDB].Cert.Raw)
}

func signedUKI(t *testing.T) ([]byte, string) {
	t.Helper()
	img, _, err := Assemble(stub(t), testSections)
	if err != nil {
		t.Fatal(err)
	}
	k, cert := dbKey(t)
	signed, err := secureboot.SignImage(img, k)
	if err != nil {
		t.Fatal(err)
	}
	SetChecksum(signed)
	return signed, cert
}

var calculated = regexp.MustCompile(`Calculated message digest\s*:\s*([0-9A-F]+)`)

// TestSignedUKIVerifiesWithSbverifyAndOsslsigncode: sbverify and
// osslsigncode (Debian sbsigntool, osslsigncode) accept the signed UKI
// under the db certificate, osslsigncode's digest is slkit's and
// go-uefi's Authenticode digest, and the PE checksum is right; with one
// byte of the kernel flipped, both refuse it and Measure says so. The KEK
// certificate does not verify it (negative control). Signing twice gives
// the same bytes.
func TestSignedUKIVerifiesWithSbverifyAndOsslsigncode(t *testing.T) {
	img, cert := signedUKI(t)
	again, _ := signedUKI(t)
	if !bytes.Equal(img, again) {
		t.Error("two signed builds differ")
	}
	sbverify := need(t, "sbverify", "sbsigntool")
	ossl := need(t, "osslsigncode", "osslsigncode")
	dir := t.TempDir()
	f := filepath.Join(dir, "uki.efi")
	os.WriteFile(f, img, 0o600)
	if out, err := exec.Command(sbverify, "--cert", cert, f).CombinedOutput(); err != nil || !strings.Contains(string(out), "Signature verification OK") {
		t.Errorf("sbverify: %v: %s", err, out)
	}
	if out, err := exec.Command(sbverify, "--cert", filepath.Join(filepath.Dir(cert), "KEK.crt"), f).CombinedOutput(); err == nil {
		t.Errorf("negative control: sbverify accepted the KEK certificate: %s", out)
	}
	out, err := exec.Command(ossl, "verify", "-in", f, "-CAfile", cert).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature verification: ok") {
		t.Errorf("osslsigncode verify: %v: %s", err, out)
	}
	m := calculated.FindStringSubmatch(string(out))
	p, err := ParsePE(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := p.AuthenticodeDigests([]tpm.Alg{tpm.SHA256})
	g, err := authenticode.Parse(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if m == nil || !strings.EqualFold(m[1], mine[tpm.SHA256].String()) || !bytes.Equal(g.Hash(crypto.SHA256), mine[tpm.SHA256]) {
		t.Errorf("Authenticode SHA-256: slkit %s, osslsigncode %v, go-uefi %x", mine[tpm.SHA256], m, g.Hash(crypto.SHA256))
	}
	if ck := regexp.MustCompile(`PE checksum\s*:\s*([0-9A-F]+)`).FindStringSubmatch(string(out)); ck == nil || strings.Contains(string(out), "MISMATCH") ||
		ck[1] != fmt.Sprintf("%08X", Checksum(img)) {
		t.Errorf("osslsigncode on the PE checksum (slkit: %08X): %v", Checksum(img), ck)
	}

	lin := p.Section(".linux")
	bad := append([]byte(nil), img...)
	bad[lin.Offset+100] ^= 1
	os.WriteFile(f, bad, 0o600)
	if out, err := exec.Command(sbverify, "--cert", cert, f).CombinedOutput(); err == nil {
		t.Errorf("sbverify accepted a flipped byte: %s", out)
	}
	if out, err := exec.Command(ossl, "verify", "-in", f, "-CAfile", cert).CombinedOutput(); err == nil {
		t.Errorf("osslsigncode accepted a flipped byte: %s", out)
	}
	pb, _ := ParsePE(bytes.NewReader(bad), int64(len(bad)))
	if _, err := Measure(pb, "bad.efi", []tpm.Alg{tpm.SHA256}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "changed after signing") {
		t.Errorf("Measure of a flipped byte: %v", err)
	}
}

func utf16nul(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return append(b, 0, 0)
}

// TestMeasure: the events are the ones the rig's boot logged, written out
// here from the section bytes: PCR 11 name (ASCII + NUL) then data for
// .linux, .osrel, .cmdline, .initrd; PCR 9 the command line in UTF-16 with
// its NUL, then the initrd.
func TestMeasure(t *testing.T) {
	img, _ := signedUKI(t)
	p, _ := ParsePE(bytes.NewReader(img), int64(len(img)))
	m, err := Measure(p, "uki.efi", []tpm.Alg{tpm.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	h := func(b []byte) tpm.Digest { s := sha256.Sum256(b); return s[:] }
	var want []tpm.Digest
	for _, n := range []string{".linux", ".osrel", ".cmdline", ".initrd"} {
		want = append(want, h(append([]byte(n), 0)), h(testSections[n]))
	}
	want = append(want, h(utf16nul(string(testSections[".cmdline"]))), h(testSections[".initrd"]))
	if len(m.Events) != len(want) {
		t.Fatalf("%d events, want %d", len(m.Events), len(want))
	}
	for i, e := range m.Events {
		pcr := 11
		if i >= 8 {
			pcr = 9
		}
		if e.PCR != pcr || !e.Digests[tpm.SHA256].Equal(want[i]) {
			t.Errorf("event %d: PCR %d %s, want PCR %d %s", i, e.PCR, e.Digests[tpm.SHA256], pcr, want[i])
		}
	}
	if m.Signer == nil || !m.EmbeddedCmdline || !m.Verifies(keySet.Keys[secureboot.RoleDB].Cert) || m.Verifies(keySet.Keys[secureboot.RoleKEK].Cert) {
		t.Errorf("signer %v, cmdline %v", m.Signer, m.EmbeddedCmdline)
	}

	// MeasureFile: the same from the file; a file that is not a PE, or
	// not a regular file, is an input error naming it.
	dir := t.TempDir()
	path, bad := filepath.Join(dir, "uki.efi"), filepath.Join(dir, "bad.efi")
	os.WriteFile(path, img, 0o600)
	os.WriteFile(bad, []byte("MZ but not a PE"), 0o600)
	fm, err := MeasureFile(path, []tpm.Alg{tpm.SHA256})
	if err != nil || len(fm.Events) != len(want) || !fm.Events[9].Digests[tpm.SHA256].Equal(want[9]) || fm.Name != path {
		t.Fatalf("MeasureFile: %v", err)
	}
	for _, f := range []string{bad, dir} {
		var ie *fsys.InputError
		if _, err := MeasureFile(f, []tpm.Alg{tpm.SHA256}); !errors.As(err, &ie) || ie.Path != f {
			t.Errorf("MeasureFile(%s): %v", f, err)
		}
	}
}

// TestAssembleRefusals: a stub that is not a PE, a signed stub, a stub
// that is a UKI already, and a stub with data after its sections are
// refused; so is a command line Measure does not model.
func TestAssembleRefusals(t *testing.T) {
	s := stub(t)
	if _, _, err := Assemble([]byte("#!/bin/sh\n"), testSections); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "no MZ header") {
		t.Errorf("not a PE: %v", err)
	}
	signed, _ := signedUKI(t)
	if _, _, err := Assemble(signed, map[string][]byte{".dtb": {1}}); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "signed") {
		t.Errorf("signed stub: %v", err)
	}
	unsigned, _, _ := Assemble(s, testSections)
	if _, _, err := Assemble(unsigned, map[string][]byte{".linux": {1}}); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "already has a .linux") {
		t.Errorf("a UKI as stub: %v", err)
	}
	if _, _, err := Assemble(append(append([]byte(nil), s...), 1, 2, 3), testSections); !errors.Is(err, ErrLayout) {
		t.Errorf("trailing data: %v", err)
	}
	if err := CheckCmdline("console=ttyS0\n"); err == nil || !strings.Contains(err.Error(), "byte 13 is 0xa") {
		t.Errorf("a newline in the command line: %v", err)
	}
}

// TestBuildReproducible: two builds of a signed UKI from the same inputs
// are byte-identical, and bad input writes nothing.
func TestBuildReproducible(t *testing.T) {
	s := need(t, DefaultStub, "systemd-boot-efi")
	k, _ := dbKey(t)
	dir := t.TempDir()
	in := BuildInput{Stub: s, Kernel: s, Cmdline: "console=ttyS0", Sign: func(b []byte) ([]byte, error) { return secureboot.SignImage(b, k) }}
	self, _ := os.Executable()
	opts := []initramfs.Option{initramfs.WithSlkitBinary(self), initramfs.WithRun("pcr", "read")}
	var outs [][]byte
	for i := 0; i < 2; i++ {
		out := filepath.Join(dir, fmt.Sprintf("uki%d.efi", i))
		res, err := Build(context.Background(), out, in, opts...)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(out)
		if !res.Signed || res.Size != int64(len(b)) {
			t.Fatalf("result %+v for %d bytes", res, len(b))
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two builds differ")
	}
	bad := filepath.Join(dir, "bad.efi")
	in.Kernel = "/etc/hostname"
	if _, err := Build(context.Background(), bad, in, opts...); !errors.Is(err, initramfs.ErrInput) || !strings.Contains(err.Error(), "kernel /etc/hostname") {
		t.Errorf("a kernel that is not a PE: %v", err)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a failed build left a file")
	}
}

// TestBuildResultText: every line of the report, from a result laid out
// by hand.
func TestBuildResultText(t *testing.T) {
	r := &BuildResult{Size: 4096, SHA256: bytes.Repeat([]byte{0x11}, 32), Signed: true,
		Layout: []Placed{{Name: ".osrel", VirtualAddress: 0x20000, Size: 50}, {Name: ".linux", VirtualAddress: 0x2000000, Size: 3000, Moved: true}},
		App:    tpm.Digests{tpm.SHA1: bytes.Repeat([]byte{1}, 20), tpm.SHA256: bytes.Repeat([]byte{2}, 32), tpm.SHA384: bytes.Repeat([]byte{3}, 48), tpm.SHA512: bytes.Repeat([]byte{4}, 64)}}
	want := "wrote u.efi: UKI, 4096 bytes, signed with db.crt, in 1.5s\nsha256 " + strings.Repeat("11", 32) + "\n" +
		"  .osrel    at 0x000020000, 50 bytes\n" +
		"  .linux    at 0x002000000, 3000 bytes (moved: systemd-stub(7) puts it at 0x2000000)\n" +
		"measured by the firmware into PCR 4 (EV_EFI_BOOT_SERVICES_APPLICATION), Authenticode digest:\n" +
		"  sha1   " + strings.Repeat("01", 20) + "\n  sha256 " + strings.Repeat("02", 32) + "\n" +
		"  sha384 " + strings.Repeat("03", 48) + "\n  sha512 " + strings.Repeat("04", 64) + "\n"
	if got := r.Text("u.efi", "db.crt", 1.46); got != want {
		t.Errorf("Text:\n%s\nwant\n%s", got, want)
	}
	r.Signed = false
	if got := r.Text("u.efi", "db.crt", 1); !strings.HasPrefix(got, "wrote u.efi: UKI, 4096 bytes, unsigned, in 1.0s\n") {
		t.Errorf("unsigned: %s", got)
	}
}
