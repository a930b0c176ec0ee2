package secureboot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/efi"
)

// TestProvision: the keys and the three .auth files are in the directory,
// db holds the extra certificate, and the text names every file and the
// timestamp in UTC.
func TestProvision(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sb")
	extra := writePEM(t, t.TempDir(), "kernel.crt", testKeys(t).Keys[RoleDB].Cert.Raw)
	now := time.Date(2026, 5, 4, 3, 2, 1, 0, time.FixedZone("X", 3600))
	p, err := Provision(dir, now, extra)
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadKeySet(dir)
	if err != nil || back.Owner != p.Set.Owner {
		t.Fatalf("LoadKeySet: %v", err)
	}
	db, err := os.ReadFile(filepath.Join(dir, "db.auth"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := efi.ParseAuth2(db)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := efi.ParseSignatureLists(a.Payload)
	if err != nil || len(lists) != 2 || !bytes.Equal(lists[1].Signatures[0].Data, testKeys(t).Keys[RoleDB].Cert.Raw) {
		t.Fatalf("db.auth: %d lists, %v", len(lists), err)
	}
	want := "wrote PK, KEK and db keys (0600) and certificates to " + dir + ", owner " + p.Set.Owner.String() + "\n" +
		"  db: " + dir + "/db.auth (timestamp 2026-05-04 02:02:01 UTC)\n" +
		"  KEK: " + dir + "/KEK.auth (timestamp 2026-05-04 02:02:01 UTC)\n" +
		"  PK: " + dir + "/PK.auth (timestamp 2026-05-04 02:02:01 UTC)\n"
	if got := p.Text(); got != want {
		t.Errorf("Text:\n%s\nwant\n%s", got, want)
	}
	if _, err := Provision(dir, now); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("a second Provision into the same directory: %v", err)
	}
}
