package pid1

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestMountDisk(t *testing.T) {
	f := newFake("")
	f.files["/dev/nvme0n1"] = ""
	if err := MountDisk(f, Disk{Device: "/dev/nvme0n1", Dir: "/run/slkit/disk"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"mkdir /run/slkit/disk", "mount /dev/nvme0n1 /run/slkit/disk ext4"}; !reflect.DeepEqual(f.calls, want) {
		t.Fatalf("calls %q", f.calls)
	}
	// Mounted already (a second step of the image): nothing to do.
	f = newFake("")
	f.files["/dev/nvme0n1"] = ""
	f.files[mountsFile] = "/dev/nvme0n1 /run/slkit/disk ext4 rw 0 0\n"
	if err := MountDisk(f, Disk{Device: "/dev/nvme0n1", Dir: "/run/slkit/disk", FSType: "vfat"}); err != nil || len(f.calls) != 0 {
		t.Fatalf("mounted already: %v %q", err, f.calls)
	}
}

func TestMountDiskFailures(t *testing.T) {
	f := newFake("")
	start := time.Now()
	err := MountDisk(f, Disk{Device: "/dev/nvme0n1", Dir: "/mnt", Wait: 120 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "disk /dev/nvme0n1: no such device after 120ms") || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("missing device: %v after %s", err, time.Since(start))
	}
	f.files["/dev/nvme0n1"] = ""
	f.failOn["mount"] = errors.New("invalid argument")
	if err := MountDisk(f, Disk{Device: "/dev/nvme0n1", Dir: "/mnt"}); err == nil || !strings.Contains(err.Error(), "mount ext4 on /mnt: invalid argument") {
		t.Fatalf("mount failure: %v", err)
	}
	for _, d := range []Disk{{Device: "nvme0n1", Dir: "/mnt"}, {Device: "/dev/x", Dir: "/"}, {Device: "/dev/x", Dir: "/mnt/../etc"}} {
		if err := MountDisk(f, d); err == nil || !strings.Contains(err.Error(), "want absolute paths") {
			t.Errorf("%+v: %v", d, err)
		}
	}
}

// TestDiskOptions: the options `efi mount` reports are the flags mounted.
func TestDiskOptions(t *testing.T) {
	rest := uintptr(diskFlags)
	var got []string
	for _, f := range []struct {
		flag uintptr
		name string
	}{{unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"}, {unix.MS_NOEXEC, "noexec"}} {
		if rest&f.flag != 0 {
			got, rest = append(got, f.name), rest&^f.flag
		}
	}
	if rest != 0 || strings.Join(got, ",") != DiskOptions {
		t.Fatalf("flags %#x name %v (left %#x), DiskOptions %q", uintptr(diskFlags), got, rest, DiskOptions)
	}
}
