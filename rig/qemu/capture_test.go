package qemu

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// TestCaptureOVMFEventLogs regenerates tpm/testdata/eventlogs/ovmf-*.{bin,pcrs.json}:
// the firmware event log of OVMF (q35, swtpm over tpm-tis; plain, and
// Secure Boot with Microsoft's keys enrolled) booting the Debian kernel,
// and PCRs 0-7 of every active bank read in the guest. Before writing, the
// log must replay to those PCRs (slkit's replay) and tpm2_eventlog's
// computed PCRs 0-7 must equal them too. It runs only with SLKIT_CAPTURE=1
// (each boot takes 10-40 s under TCG); SLKIT_CAPTURE_OUT=DIR writes
// elsewhere:
//
//	SLKIT_CAPTURE=1 go test -run TestCaptureOVMFEventLogs -v ./qemu/
func TestCaptureOVMFEventLogs(t *testing.T) {
	if os.Getenv("SLKIT_CAPTURE") != "1" {
		t.Skip("set SLKIT_CAPTURE=1 to regenerate the captured OVMF event logs")
	}
	k := requireRig(t)
	if _, err := exec.LookPath("tpm2_eventlog"); err != nil {
		t.Fatalf("tpm2_eventlog (tpm2-tools) checks the capture: %v", err)
	}
	guest := testGuest(t)
	out := filepath.Join("..", "tpm", "testdata", "eventlogs")
	if d := os.Getenv("SLKIT_CAPTURE_OUT"); d != "" {
		out = d // to compare a fresh capture with the committed one
	}
	for _, v := range []struct {
		name string
		ovmf OVMF
	}{
		{"ovmf-q35-swtpm", OVMF{}},
		{"ovmf-q35-swtpm-secboot", OVMF{SecureBoot: true}},
	} {
		t.Run(v.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			r := startTestRig(t, ctx, WithDirectTPM(), WithVM(WithOVMF(v.ovmf), WithKernel(k.Path), WithInitrd(guest),
				WithAppend(guestAppend("eventlog"))))
			raw, pcrs := guestEventLog(t, ctx, r.VM)
			bin := filepath.Join(t.TempDir(), "log.bin")
			if err := os.WriteFile(bin, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			checkWithTpm2Eventlog(t, bin, pcrs)
			if t.Failed() {
				return
			}
			pj, err := json.MarshalIndent(pcrs, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if err := fsys.WriteFile(fsys.OS{}, filepath.Join(out, v.name+".bin"), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := fsys.WriteFile(fsys.OS{}, filepath.Join(out, v.name+".pcrs.json"), append(pj, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes; boot took %s", v.name, len(raw), time.Since(r.VM.Started).Round(time.Second))
		})
	}
}

// checkWithTpm2Eventlog compares tpm2_eventlog's computed PCRs 0-7 with
// the PCRs the guest read, in every bank.
func checkWithTpm2Eventlog(t *testing.T, bin string, read *tpm.PCRs) {
	t.Helper()
	y, err := exec.Command("tpm2_eventlog", bin).Output()
	if err != nil {
		t.Fatalf("tpm2_eventlog: %v", err)
	}
	_, pcrsPart, ok := strings.Cut(string(y), "\npcrs:\n")
	if !ok {
		t.Fatal("tpm2_eventlog printed no pcrs: section")
	}
	bankRe := regexp.MustCompile(`^  (sha[0-9]+):$`)
	valRe := regexp.MustCompile(`^\s+([0-9]+)\s*:\s*0x([0-9A-Fa-f]+)$`)
	tools := map[string]map[string]string{}
	bank := ""
	for _, l := range strings.Split(pcrsPart, "\n") {
		if m := bankRe.FindStringSubmatch(l); m != nil {
			bank, tools[m[1]] = m[1], map[string]string{}
		} else if m := valRe.FindStringSubmatch(l); m != nil && bank != "" {
			tools[bank][m[1]] = strings.ToLower(m[2])
		}
	}
	for _, a := range read.Algs() {
		for _, i := range read.Indices(a) {
			want, _ := read.Get(a, i)
			if got := tools[a.String()][strconv.Itoa(i)]; got != want.String() {
				t.Errorf("tpm2_eventlog %s PCR %d = %s, the guest read %s", a, i, got, want)
			}
		}
	}
}
