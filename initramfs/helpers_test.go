package initramfs

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/slkit/slkit/launch/policy"
)

// fixture is a set of build inputs in a temporary directory.
type fixture struct {
	dir                   string
	slkit, kernel, initrd string
	policy, pub           string
	koPlain, koGzip       string
	elf                   []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.elf = append([]byte("\x7fELF\x02\x01\x01"), bytes.Repeat([]byte("slkit"), 100)...)
	f.slkit = f.write(t, "slkit", f.elf, 0o755)
	f.kernel = f.write(t, "vmlinuz", []byte("kernel image"), 0o600)
	f.initrd = f.write(t, "initrd.img", bytes.Repeat([]byte("initrd"), 1000), 0o700)
	f.koPlain = f.write(t, "a.ko", []byte("\x7fELF module a"), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("\x7fELF module b"))
	zw.Close()
	f.koGzip = f.write(t, "b.ko.gz", gz.Bytes(), 0o644)
	f.policy, f.pub = f.signedPolicy(t, "/boot/vmlinuz", "/boot/initrd.img")
	return f
}

func (f *fixture) write(t testing.TB, name string, b []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// signedPolicy writes a policy for kernel and initrd paths, signed by a
// fresh key, and returns the signed file and the public key file.
func (f *fixture) signedPolicy(t testing.TB, kernel, initrd string) (string, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`{"version": 1, "entries": [{"name": "default",
  "kernel": {"path": %q, "sha256": %q}, "initrd": {"path": %q, "sha256": %q},
  "cmdline": "console=ttyS0", "profile": "measured-v1"}]}`, kernel, sha256Hex([]byte("kernel image")), initrd, sha256Hex([]byte("x")))
	signed, err := policy.Sign([]byte(doc), priv)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := policy.MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	n := filepath.Base(t.TempDir())
	return f.write(t, n+".policy", signed, 0o644), f.write(t, n+".pub", pb, 0o644)
}

func (f *fixture) opts() []Option {
	return []Option{
		WithSlkitBinary(f.slkit),
		WithPolicy(f.policy, f.pub),
		WithPayload(Payload{Src: f.kernel, Dst: "/boot/vmlinuz"}),
		WithPayload(Payload{Src: f.initrd, Dst: "/boot/initrd.img"}),
		WithModule(f.koPlain),
		WithModule(f.koGzip),
	}
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// readImage reads an archive back with u-root's reader.
func readImage(t testing.TB, b []byte) []cpio.Record {
	t.Helper()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func find(recs []cpio.Record, name string) (cpio.Record, bool) {
	for _, r := range recs {
		if r.Name == name {
			return r, true
		}
	}
	return cpio.Record{}, false
}

// noLeftovers fails if dir holds anything but the names given.
func noLeftovers(t testing.TB, dir string, want ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]bool{}
	for _, w := range want {
		ok[w] = true
	}
	for _, e := range es {
		if !ok[e.Name()] {
			t.Errorf("%s: unexpected %s (a temp or partial file?)", dir, e.Name())
		}
	}
}
