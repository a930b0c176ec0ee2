package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestCLIUpdateStatusCounterError: when the update window's counter cannot
// be read (here: its NV index was undefined after prepare), `update
// status` says so in its report, text and JSON, and exits non-zero (2,
// a TPM failure), instead of printing the window without its value.
func TestCLIUpdateStatusCounterError(t *testing.T) {
	tt := tpmtest.Open(t)
	u := newUpdateFiles(t)
	stageBoot(t, tt, "BootOrder 0000")
	if r := runSlkit(t, tt, "seal", "--pcrs", "1,8", "--in", u.secret, "--out", u.sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	u.queue(t, "BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c", "--boot-order", "0001,0000")
	if r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--sealed", u.sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	c, err := tpm.OpenCounter(tt, tpm.DefaultCounterIndex)
	if err != nil {
		t.Fatal(err)
	}
	now, _ := c.Read(tt)
	window := fmt.Sprintf("counter 0x0180534c in %d..%d", now+1, now+1)
	r := runSlkit(t, tt, "update", "status", "--sealed", u.sealed)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%s, now %d", window, now)) {
		t.Fatalf("status: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := (tpm2.NVUndefineSpace{AuthHandle: tpm2.TPMRHOwner, NVIndex: tpm2.NamedHandle{Handle: tpm2.TPMHandle(c.Index), Name: tpm2.TPM2BName{Buffer: c.Name}}}).Execute(tt); err != nil {
		t.Fatal(err)
	}
	r = runSlkit(t, tt, "update", "status", "--sealed", u.sealed)
	if r.code != 2 || !strings.Contains(r.stdout, "the main object unseals; update window: "+window+", counter unreadable: ") ||
		!strings.Contains(r.stderr, "no NV index at 0x0180534c") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("status with the counter gone: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runSlkit(t, tt, "update", "status", "--sealed", u.sealed, "--json")
	var got []struct {
		Unseals      string  `json:"unseals"`
		Counter      *uint64 `json:"counter"`
		CounterError string  `json:"counter_error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 2 || len(got) != 1 || got[0].Unseals != "main" ||
		got[0].Counter != nil || !strings.Contains(got[0].CounterError, "no NV index at 0x0180534c") {
		t.Fatalf("status --json with the counter gone: %v %d %q %q", err, r.code, r.stdout, r.stderr)
	}
}
