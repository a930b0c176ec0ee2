package main

import (
	"encoding/json"
	"strings"
	"testing"

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
	extendCLI(t, tt, "0", "firmware v1")
	extendCLI(t, tt, "8", "launch")
	if r := runSlkit(t, tt, "seal", "--pcrs", "0,8", "--in", u.secret, "--out", u.sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	u.queue(t, "Thing-"+vendorGUIDText, "--hex", "01")
	if r := runSlkit(t, tt, "update", "prepare", "--journal", u.journal, "--sealed", u.sealed); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := runSlkit(t, tt, "update", "status", "--sealed", u.sealed)
	if r.code != 0 || !strings.Contains(r.stdout, "counter 0x0180534c in 2..2, now 1") {
		t.Fatalf("status: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if err := tpm.UndefineCounter(tt, tpm.DefaultCounterIndex); err != nil {
		t.Fatal(err)
	}
	r = runSlkit(t, tt, "update", "status", "--sealed", u.sealed)
	if r.code != 2 || !strings.Contains(r.stdout, "the main object unseals; update window: counter 0x0180534c in 2..2, counter unreadable: NV counter: no NV index at 0x0180534c") ||
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
