package qemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// guestEventLog waits for the test guest's eventlog action on vm's console
// and returns the firmware event log and the PCRs 0-7 (every active bank)
// the guest read. It fails t unless replaying the log gives exactly those
// PCRs, in every bank.
func guestEventLog(t *testing.T, ctx context.Context, vm *VM) ([]byte, *tpm.PCRs) {
	t.Helper()
	logLine, err := vm.Expect(ctx, `^TESTGUEST eventlog (\S+)$`)
	if err != nil {
		t.Fatal(err)
	}
	pcrLine, err := vm.Expect(ctx, `^TESTGUEST pcrs (\{.*\})$`)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(logLine[1])
	if err != nil {
		t.Fatal(err)
	}
	read := tpm.NewPCRs()
	if err := json.Unmarshal([]byte(pcrLine[1]), read); err != nil {
		t.Fatal(err)
	}
	l, err := tpm.ParseEventLog(raw)
	if err != nil {
		t.Fatal(err)
	}
	replay, err := l.Replay()
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Algs()) < 2 {
		t.Fatalf("the guest read %d banks, want all active ones (swtpm: 4)", len(read.Algs()))
	}
	for _, a := range read.Algs() {
		if got := read.Indices(a); len(got) != 8 {
			t.Fatalf("%s: the guest read PCRs %v, want 0-7", a, got)
		}
		for _, i := range read.Indices(a) {
			want, _ := read.Get(a, i)
			got, ok := replay.Get(a, i)
			if !ok || !got.Equal(want) {
				t.Errorf("%s PCR %d: log replay %s, the TPM says %s", a, i, got, want)
			}
		}
	}
	return raw, read
}
