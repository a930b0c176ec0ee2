package journal

import (
	"io/fs"
	"os"
	"reflect"
	"syscall"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

// A variable write that resets the machine every time is tried
// DefaultTries times in all, then given up: no reboot loop.
func TestNoRebootLoop(t *testing.T) {
	r := newRig(t)
	r.mustEnqueue(set(vendorVar, []byte("boom")), set(efi.BootOrder, []byte{1, 0}))
	resets := 0
	vars := efi.New(&resetting{Backend: r.store, reset: func() { resets++; r.disk.CrashAfter(1) }}, efi.WithMutable(vendorAll))
	for boot := 0; boot < 5; boot++ {
		res, err := Commit(t.Context(), vars, r.j, r.s, pubOf(r.key), r.opts()...)
		if boot < DefaultTries {
			// The reset is seen as an error from the disk (machine gone).
			if err == nil {
				t.Fatalf("boot %d: %+v", boot, res)
			}
			r.disk.Crash(nil)
			r.store.Reboot()
			continue
		}
		if err != nil || !reflect.DeepEqual(outcomes(res)[:2], []Outcome{FailedNow, Applied}) && !reflect.DeepEqual(outcomes(res), []Outcome{FailedEarlier, DoneEarlier}) {
			t.Fatalf("boot %d: %v %+v", boot, err, res)
		}
	}
	if resets != DefaultTries {
		t.Fatalf("%d resets, want %d", resets, DefaultTries)
	}
}

// resetting is a backend whose writes to vendorVar reset the machine
// before reaching the firmware.
type resetting struct {
	efi.Backend
	reset func()
}

func (b *resetting) OpenFile(name string, flag int) (efi.File, error) {
	f, err := b.Backend.OpenFile(name, flag)
	if err != nil || name != vendorVar.String() {
		return f, err
	}
	return resetFile{f, b.reset}, nil
}

type resetFile struct {
	efi.File
	reset func()
}

func (f resetFile) Write(p []byte) (int, error) {
	f.reset()
	return 0, syscall.EIO
}

// A variable that cannot be read at any boot costs a try per boot and is
// then given up, so the entries after it are not held up forever.
func TestUnreadableVariableIsBounded(t *testing.T) {
	r := newRig(t, efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("old")))
	r.mustEnqueue(set(vendorVar, []byte("x")), set(efi.BootOrder, []byte{1, 0}))
	vars := efi.New(unreadable{Backend: r.store}, efi.WithMutable(vendorAll))
	for boot := 1; boot <= DefaultTries; boot++ {
		res, err := Commit(t.Context(), vars, r.j, r.s, pubOf(r.key), r.opts()...)
		if err != nil || !reflect.DeepEqual(outcomes(res), []Outcome{RetryLater, NotAttempted}) || res.Entries[0].TriesLeft != DefaultTries-boot {
			t.Fatalf("boot %d: %v %+v", boot, err, res)
		}
		r.store.Reboot()
	}
	res, err := Commit(t.Context(), vars, r.j, r.s, pubOf(r.key), r.opts()...)
	if err != nil || !reflect.DeepEqual(outcomes(res), []Outcome{FailedNow, Applied}) || res.Entries[0].Errno != "EIO" {
		t.Fatalf("after %d boots: %v %+v", DefaultTries, err, res)
	}
	if v, _ := r.value(vendorVar); string(v) != "old" || r.store.Sets() != 1 {
		t.Fatalf("sets %d", r.store.Sets())
	}
}

// unreadable is a backend on which reading vendorVar fails with EIO
// (GetVariable returning EFI_DEVICE_ERROR) whenever fail says so (nil:
// always).
type unreadable struct {
	efi.Backend
	fail func() bool
}

func (b unreadable) OpenFile(name string, flag int) (efi.File, error) {
	f, err := b.Backend.OpenFile(name, flag)
	if err != nil || name != vendorVar.String() || flag != os.O_RDONLY || (b.fail != nil && !b.fail()) {
		return f, err
	}
	return eioReader{f}, nil
}

type eioReader struct{ efi.File }

func (eioReader) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: vendorVar.String(), Err: syscall.EIO}
}
