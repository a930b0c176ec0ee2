package tpm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestVerifyEventLog logs and extends three events, verifies the log against
// the TPM, then extends PCR 12 behind the log's back and checks that the
// verification names PCR 12 in every bank.
func TestVerifyEventLog(t *testing.T) {
	tt := tpmtest.Open(t)
	banks, err := tpm.ActiveBanks(tt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpm.NewEventLog(banks)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct {
		pcr  int
		data string
	}{{8, "cmdline"}, {9, "kernel"}, {12, "extra"}} {
		e, err := l.AppendData(ev.pcr, tpm.EvIPL, []byte(ev.data), []byte(ev.data))
		if err != nil {
			t.Fatal(err)
		}
		if err := tpm.Extend(tt, ev.pcr, e.Digests); err != nil {
			t.Fatal(err)
		}
	}
	v, err := tpm.VerifyEventLog(tt, l)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() || v.Err() != nil {
		t.Fatalf("fresh log does not verify: %v", v.Err())
	}
	ds, _ := tpm.HashBytes(banks, []byte("tamper"))
	if err := tpm.Extend(tt, 12, ds); err != nil {
		t.Fatal(err)
	}
	v, err = tpm.VerifyEventLog(tt, l)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() || len(v.FirstDiffs) != len(banks) || v.Diffs != len(banks) {
		t.Fatalf("after tampering: %d diffs, first %v", v.Diffs, v.FirstDiffs)
	}
	for _, d := range v.FirstDiffs {
		if d.PCR != 12 {
			t.Fatalf("first differing PCR %d, want 12", d.PCR)
		}
	}
	if err := v.Err(); !errors.Is(err, tpm.ErrPCRMismatch) || !strings.Contains(err.Error(), "sha256 PCR 12") {
		t.Fatalf("err = %v", err)
	}
}
