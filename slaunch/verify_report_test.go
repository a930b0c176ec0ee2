package slaunch

import (
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestReportDRTMReplayFailure: a DRTM log that carries a bank but cannot
// be replayed (a digest of the wrong size, as a caller-built log can
// hold) is reported as such, bank by bank and in LogError, never as a
// bank the log does not carry.
func TestReportDRTMReplayFailure(t *testing.T) {
	tt := tpmtest.Open(t)
	log, err := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := log.AppendData(PCRDCE, EventType, []byte("dce"), []byte(DescSKINIT))
	if err != nil {
		t.Fatal(err)
	}
	ev.Digests[tpm.SHA256] = ev.Digests[tpm.SHA256][:20]
	r, err := ReportDRTM(tt, log)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || !strings.Contains(r.LogError, "sha256 digest is 20 bytes") {
		t.Fatalf("report: OK %v, log error %q", r.OK, r.LogError)
	}
	for _, b := range r.Banks {
		if b.Bank == tpm.SHA256 && (!b.InLog || b.Match) {
			t.Errorf("sha256: in log %v, match %v; want a bank of the log that does not match", b.InLog, b.Match)
		}
	}
	for _, line := range strings.Split(r.Text("drtm.bin"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "sha256 ") && !strings.HasSuffix(line, "the log does not replay: malformed event log: event 1: sha256 digest is 20 bytes") {
			t.Errorf("sha256 line: %s", line)
		}
	}
}

// TestReportLaunch: the kernel's log and TXT registers go into the report
// as read; without a log the verdict is ReportDRTM's without one.
func TestReportLaunch(t *testing.T) {
	tt := tpmtest.Open(t)
	r, err := ReportLaunch(tt, nil, nil)
	if err != nil || r.OK || r.Log != nil || r.TXT != nil || r.Err() == nil {
		t.Fatalf("no log: %+v %v", r, err)
	}
	log, err := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	sts := Reg(0x1)
	klog, txt := &KernelLog{Log: log}, &KernelTXTRegisters{STS: &sts}
	r, err = ReportLaunch(tt, klog, txt)
	if err != nil || r.Log != klog || r.TXT != txt || r.OK {
		t.Fatalf("with a log: %+v %v", r, err)
	}
	if !strings.Contains(r.Text("l"), "TXT registers (securityfs): STS 0x1") {
		t.Errorf("text: %s", r.Text("l"))
	}
}
