package main

import (
	"strings"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestCLILaunchJournalQueuedBeforeTheAnchor: a journal queued before the
// pre-launch stage defined the journal's anchor (its generations numbered
// by the state file) is committed even when the first commit stops before
// its end (here: the variable store cannot be opened; on a machine, a
// power cut). A new anchor starts above every value any counter on the TPM
// has had, so it is defined only once no generation is pending: defined
// before, it would refuse the pending generation as a replay at the next
// boot (or claim it applied), and the queued change would never be made.
func TestCLILaunchJournalQueuedBeforeTheAnchor(t *testing.T) {
	tt := tpmtest.Open(t)
	// Another counter on this TPM went up to 3.
	c, _, err := tpm.OpenOrDefineAnchor(tt, tpm.DefaultCounterIndex)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := c.Increment(tt); err != nil {
			t.Fatal(err)
		}
	}
	x := newLaunchFixture(t)
	st := efitest.New(efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}))
	if r := runEFIOn(t, tt, st, "", "efi", "queue", "set", efi.BootOrder.String(), "--boot-order", "0001,0002",
		"--key", x.ekey, "--journal", x.j, "--anchor", "none"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	reboots := 0
	tt.Reboot()
	if r := runLaunchEFI(t, tt, nil, &reboots, x.args(x.policy)...); r.code == 0 {
		t.Fatalf("a launch whose commit could not open the variables succeeded: %q", r.stderr)
	}
	if _, err := tpm.OpenAnchor(tt, tpm.DefaultJournalAnchorIndex); err == nil {
		t.Error("the journal's anchor was defined while generation 1 was pending")
	}
	tt.Reboot()
	r := runLaunchEFI(t, tt, st, &reboots, x.args(x.policy)...)
	if r.code != 0 || !strings.Contains(r.stderr, "applied        "+efi.BootOrder.String()) {
		t.Fatalf("the next boot did not commit generation 1: exit %d %q", r.code, r.stderr)
	}
	if _, v, _ := st.Value(efi.BootOrder); string(v) != "\x01\x00\x02\x00" {
		t.Fatalf("BootOrder = % x, want 01 00 02 00", v)
	}
	a, err := tpm.OpenAnchor(tt, tpm.DefaultJournalAnchorIndex)
	if err != nil {
		t.Fatalf("the anchor was not defined after the commit: %v", err)
	}
	if v, err := a.Read(tt); err != nil || v < 1 {
		t.Fatalf("anchor %d, %v: want at least generation 1", v, err)
	}
	// The launched OS queues the next generation above the anchor.
	x.queue(t, tt, st, efi.BootOrder.String(), "--boot-order", "0002,0001")
	tt.Reboot()
	if r := runLaunchEFI(t, tt, st, &reboots, x.args(x.policy)...); r.code != 0 {
		t.Fatalf("generation 2: %q", r.stderr)
	}
	if _, v, _ := st.Value(efi.BootOrder); string(v) != "\x02\x00\x01\x00" {
		t.Fatalf("BootOrder = % x, want 02 00 01 00", v)
	}
}
