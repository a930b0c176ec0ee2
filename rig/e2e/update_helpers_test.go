package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"github.com/slkit/slkit/rig/rigtest"
)

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func copyFile(t *testing.T, src, dst string) { writeFile(t, dst, mustRead(t, src)) }

// after returns the console lines after the first one containing from.
func after(b *rigtest.Boot, from string) []string { return b.Between(from, "") }

// logLines logs the console lines that contain any of subs: what the
// flow said, for a reader of the test log.
func logLines(t *testing.T, b *rigtest.Boot, subs ...string) {
	t.Helper()
	var out []string
	for _, l := range b.Console {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, strings.TrimSpace(l))
				break
			}
		}
	}
	t.Logf("console:\n%s", strings.Join(out, "\n"))
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// tamperValue replaces the data of the journal entry whose name starts
// with name by data of the same length and recomputes the entry's CRC-32C
// (efi/README.md, journal format: name at entry offset 68, data after it,
// the CRC in the entry's last 4 bytes), leaving the signature as it was.
func tamperValue(t *testing.T, j []byte, name string, data []byte) []byte {
	t.Helper()
	out := append([]byte(nil), j...)
	i := bytes.Index(out, []byte(name))
	if i < 68 {
		t.Fatalf("no entry %q in the journal", name)
	}
	entry := i - 68
	n := int(binary.LittleEndian.Uint16(out[entry+10:]))
	d := int(binary.LittleEndian.Uint32(out[entry+64:]))
	l := int(binary.LittleEndian.Uint32(out[entry:]))
	if d != len(data) || l != 72+n+d {
		t.Fatalf("entry %q: %d data bytes, length %d", name, d, l)
	}
	copy(out[i+n:], data)
	binary.LittleEndian.PutUint32(out[entry+l-4:], crc32.Checksum(out[entry:entry+l-4], crc32.MakeTable(crc32.Castagnoli)))
	return out
}
