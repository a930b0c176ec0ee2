package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExpectTimeoutAndKillByPID: an expectation that never comes times out
// with ErrTimeout and the console tail; Close ends QEMU by its PID.
func TestExpectTimeoutAndKillByPID(t *testing.T) {
	k := requireRig(t)
	ctx := context.Background()
	vm, err := StartVM(ctx, t.TempDir(), WithKernel(k.Path), WithInitrd(testGuest(t)),
		WithAppend("console=ttyS0 panic=-1 testguest=reboot"), WithReboot())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = vm.Expect(short, `^never printed$`)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "last lines") {
		t.Fatalf("err = %v", err)
	}
	pid := vm.PID()
	vm.Close()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("QEMU %d still running after Close", pid)
	}
}

// TestInVMRebootResetsDRTMPCRs: with WithReboot the guest reboots inside
// the same QEMU (it reboots on every boot); the TPM is re-initialised (INIT
// through the mux), so each boot starts with PCR17 = ff… and the host-run
// launch gives the same vector again.
func TestInVMRebootResetsDRTMPCRs(t *testing.T) {
	k := requireRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r := startTestRig(t, ctx, WithVM(WithKernel(k.Path), WithInitrd(testGuest(t)),
		WithAppend(guestAppend("pcr17,hostchan,reboot")), WithReboot()))
	// Two boots: "done" printed twice.
	for {
		n := 0
		for _, l := range r.VM.Console().Lines() {
			if strings.HasPrefix(l, "TESTGUEST done") {
				n++
			}
		}
		if n >= 2 {
			break
		}
		select {
		case <-ctx.Done():
			stderr, _ := os.ReadFile(filepath.Join(r.Dir, "qemu.stderr"))
			t.Fatalf("no second boot; mux saw %v, err %v; qemu stderr %s; console:\n%s", r.Mux.Seen(), r.Mux.Err(), stderr, r.VM.Console().Text())
		case <-time.After(200 * time.Millisecond):
		}
	}
	var got []string
	for _, l := range r.VM.Console().Lines() {
		if v, ok := strings.CutPrefix(l, "TESTGUEST pcr 17 sha256 "); ok {
			got = append(got, v)
		}
	}
	ff := strings.Repeat("ff", 32)
	if len(got) < 4 || got[0] != ff || got[1] != vector1234("sha256") || got[2] != ff || got[3] != vector1234("sha256") {
		t.Fatalf("PCR17 over two boots: %v", got)
	}
	inits := 0
	for _, c := range r.Mux.Seen() {
		if c.String() == "INIT" {
			inits++
		}
	}
	if inits < 2 {
		t.Fatalf("mux saw %d INITs over a reboot, want >= 2", inits)
	}
}

// TestFreshRunSameTPMState: a second QEMU run on the same swtpm state
// directory sees the same TPM (the same owner seed gives the same primary
// key), as a machine does after a power cycle.
func TestFreshRunSameTPMState(t *testing.T) {
	k := requireRig(t)
	guest := testGuest(t)
	state := filepath.Join(t.TempDir(), "tpm")
	var names []string
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		r := startTestRig(t, ctx, WithTPMState(state), WithVM(WithKernel(k.Path), WithInitrd(guest),
			WithAppend(guestAppend("primary"))))
		m, err := r.VM.Expect(ctx, `^TESTGUEST primary ([0-9a-f]+)$`)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		names = append(names, m[1])
		if err := r.VM.Wait(ctx); err != nil {
			cancel()
			t.Fatal(err)
		}
		r.Close()
		cancel()
	}
	if names[0] != names[1] {
		t.Fatalf("primary key over two runs on one state: %v", names)
	}
}
