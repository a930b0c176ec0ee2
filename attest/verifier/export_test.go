package verifier_test

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/attest/attesttest"
	"github.com/slkit/slkit/attest/verifier"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestExportTPM2Checkquote: tpm2-tools' tpm2_checkquote accepts the
// exported quote of every bank (message, TPMT_SIGNATURE, AK public key as
// PEM, the PCR values serialized as tpm2_quote writes them, the nonce),
// and refuses them with another nonce, with a changed PCR value and with
// another bank's signature: a check that can fail.
func TestExportTPM2Checkquote(t *testing.T) {
	if _, err := exec.LookPath("tpm2_checkquote"); err != nil {
		tpmtest.SkipOrFatal(t, err)
	}
	m := attesttest.Boot(t, filepath.Join(t.TempDir(), "ca"), "drtm")
	nonce := attesttest.Nonce(t)
	ev := m.Quote(nonce)
	files, _, err := verifier.ExportTPM2Tools(ev)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "export")
	n, cmds, err := verifier.WriteTPM2Tools(ev, dir)
	if err != nil || n != len(files) {
		t.Fatalf("WriteTPM2Tools: %d files, %v", n, err)
	}
	if len(cmds) != 4 {
		t.Fatalf("%d tpm2_checkquote commands, want one per bank (4)", len(cmds))
	}
	run := func(cmd string) (string, error) {
		args := strings.Fields(cmd)
		c := exec.Command(args[0], args[1:]...)
		c.Dir = dir
		out, err := c.CombinedOutput()
		return string(out), err
	}
	for _, cmd := range cmds {
		out, err := run(cmd)
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		// tpm2_checkquote prints the PCR values it hashed: PCR 9 of the
		// bank, as the evidence has it.
		bank := strings.TrimSuffix(strings.TrimPrefix(strings.Fields(cmd)[4], "quote-"), ".msg")
		for _, a := range ev.PCRs.Algs() {
			if a.String() != bank {
				continue
			}
			v, _ := ev.PCRs.Get(a, 9)
			if !strings.Contains(strings.ToLower(out), "0x"+strings.ToLower(hex.EncodeToString(v))) &&
				!strings.Contains(strings.ToLower(out), strings.ToLower(hex.EncodeToString(v))) {
				t.Errorf("%s: tpm2_checkquote's output lacks PCR 9 %x:\n%s", bank, []byte(v), out)
			}
		}
	}
	other := strings.Replace(cmds[1], hex.EncodeToString(nonce), hex.EncodeToString(attesttest.Nonce(t)), 1)
	if out, err := run(other); err == nil || !strings.Contains(out, "nonce") {
		t.Errorf("tpm2_checkquote accepted another nonce: %v\n%s", err, out)
	}
	swapped := strings.Replace(cmds[1], "-s quote-sha256.sig", "-s quote-sha1.sig", 1)
	if out, err := run(swapped); err == nil {
		t.Errorf("tpm2_checkquote accepted the sha1 quote's signature for the sha256 quote:\n%s", out)
	}
	pcrs := filepath.Join(dir, "pcrs-sha256.bin")
	b, _ := os.ReadFile(pcrs)
	b[len(b)-100] ^= 1
	os.WriteFile(pcrs, b, 0o644)
	if out, err := run(cmds[1]); err == nil {
		t.Errorf("tpm2_checkquote accepted a changed PCR value:\n%s", out)
	}
}
