package qemu

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOVMFBoot boots OVMF (q35, tpm-crb through the mux) with a
// caller-given variable store: the firmware's event log replays to the
// PCRs the guest reads, and the store is the caller's file, written by the
// firmware (it persists across runs, as NVRAM does).
func TestOVMFBoot(t *testing.T) {
	k := requireRig(t)
	o := OVMF{Vars: filepath.Join(t.TempDir(), "my-vars.fd")}
	code, tmpl := o.files()
	for _, f := range []string{code, tmpl} {
		if _, err := os.Stat(f); err != nil {
			skipOrFatal(t, err.Error())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := startTestRig(t, ctx, WithVM(WithOVMF(o), WithTPMDevice("tpm-crb"), WithKernel(k.Path), WithInitrd(testGuest(t)),
		WithAppend(guestAppend("eventlog"))))
	raw, _ := guestEventLog(t, ctx, r.VM)
	if err := r.VM.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("OVMF boot to power-off: %s; event log %d bytes", time.Since(r.VM.Started).Round(100*time.Millisecond), len(raw))
	vars, err := os.ReadFile(o.Vars)
	if err != nil {
		t.Fatalf("the caller's variable store: %v", err)
	}
	template, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != len(template) || bytes.Equal(vars, template) {
		t.Fatalf("variable store: %d bytes, unchanged=%v; want the firmware to have written the caller's %d-byte copy",
			len(vars), bytes.Equal(vars, template), len(template))
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "OVMF_VARS.fd")); err == nil {
		t.Fatal("a private copy was made although the caller gave a variable store")
	}
}
