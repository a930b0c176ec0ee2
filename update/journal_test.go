package update_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/update"
)

func TestCheckJournal(t *testing.T) {
	dir := t.TempDir()
	jp, sp := filepath.Join(dir, "journal"), filepath.Join(dir, "journal.state")
	pub, key := newKey(t)
	if _, err := update.CheckJournal(jp, sp, pub); !errors.Is(err, update.ErrNoJournal) {
		t.Fatalf("no journal: %v", err)
	}
	vendor, _ := efi.ParseName("Thing-12345678-1234-1234-1234-123456789abc")
	_, err := journal.Enqueue(jp, sp, key, []journal.Change{
		{Op: journal.OpSet, Var: vendor, Attr: efi.DefaultAttr, Data: []byte("v2")},
		{Op: journal.OpSet, Var: efi.BootOrder, Attr: efi.DefaultAttr, Data: efi.MarshalBootOrder([]uint16{2, 1})},
		{Op: journal.OpSet, Var: efi.BootNext, Attr: efi.DefaultAttr, Data: []byte{2, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := update.CheckJournal(jp, sp, pub)
	if err != nil || p.Pending != 3 || !p.Verified || len(p.Reboot) != 1 || !strings.Contains(p.Reboot[0], "BootNext") {
		t.Fatalf("%+v %v", p, err)
	}
	other, _ := newKey(t)
	if _, err := update.CheckJournal(jp, sp, other); !errors.Is(err, journal.ErrWrongKey) {
		t.Fatalf("other key: %v", err)
	}
	st := efitest.New(efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, efi.MarshalBootOrder([]uint16{1, 2})))
	allow, _ := efi.ParsePattern("*-12345678-1234-1234-1234-123456789abc")
	res, err := journal.Commit(context.Background(), st.Vars(efi.WithMutable(allow)), jp, sp, pub, journal.WithAllowed(allow))
	if err != nil || res.Err() != nil {
		t.Fatalf("commit: %v %v", err, res.Err())
	}
	if _, err := update.CheckJournal(jp, sp, pub); !errors.Is(err, update.ErrNoJournal) || !strings.Contains(err.Error(), "committed already") {
		t.Fatalf("after commit: %v", err)
	}
}
