package qemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/tpm"
)

// TestCaptureOVMFEventLogs regenerates tpm/testdata/eventlogs/ovmf-*.{bin,pcrs.json}:
// the firmware event log of OVMF (q35, plain and Secure Boot with Microsoft
// keys) booting the Debian kernel with swtpm, and PCRs 0-7 read in the guest.
// It runs only with SLKIT_CAPTURE=1 (each boot takes about 20 s under TCG).
func TestCaptureOVMFEventLogs(t *testing.T) {
	if os.Getenv("SLKIT_CAPTURE") != "1" {
		t.Skip("set SLKIT_CAPTURE=1 to regenerate the captured OVMF event logs")
	}
	k := requireRig(t)
	guest := testGuest(t)
	out := filepath.Join("..", "tpm", "testdata", "eventlogs")
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
			r, err := StartRig(ctx, t.TempDir(), WithDirectTPM(), WithVM(WithOVMF(v.ovmf), WithKernel(k.Path), WithInitrd(guest),
				WithAppend("console=ttyS0 panic=-1 quiet testguest=eventlog")))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			log, err := r.VM.Console().Expect(ctx, `^TESTGUEST eventlog (\S+)$`)
			if err != nil {
				t.Fatal(err)
			}
			pcrs, err := r.VM.Console().Expect(ctx, `^TESTGUEST pcrs (\{.*\})$`)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := base64.StdEncoding.DecodeString(log[1])
			if err != nil {
				t.Fatal(err)
			}
			var p tpm.PCRs
			if err := json.Unmarshal([]byte(pcrs[1]), &p); err != nil {
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
			for _, a := range replay.Algs() {
				for _, i := range replay.Indices(a) {
					want, _ := p.Get(a, i)
					got, _ := replay.Get(a, i)
					if i < 8 && !got.Equal(want) {
						t.Errorf("%s PCR %d: replay %s, guest read %s", a, i, got, want)
					}
				}
			}
			pj, _ := json.MarshalIndent(p, "", "  ")
			os.WriteFile(filepath.Join(out, v.name+".bin"), raw, 0o644)
			os.WriteFile(filepath.Join(out, v.name+".pcrs.json"), append(pj, '\n'), 0o644)
			t.Logf("%s: %d bytes, %d events; boot took %s", v.name, len(raw), len(l.Events), time.Since(r.VM.Started).Round(time.Second))
			_ = strings.TrimSpace
		})
	}
}
