package pid1

import (
	"fmt"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

// Disk is a file system on a block device that the pre-launch environment
// and the launched OS share, e.g. the partition holding the deferred EFI
// journal and the sealed files (`slkit efi mount`).
type Disk struct {
	// Device is the block device node, e.g. /dev/nvme0n1.
	Device string
	// Dir is the mount point (created when missing).
	Dir string
	// FSType is the file system type (default ext4: built into the
	// Debian cloud kernel, as NVMe is).
	FSType string
	// Wait is how long to wait for Device to appear: disks are probed
	// asynchronously and may show up after /init started.
	Wait time.Duration
}

// diskFlags: nothing on the shared disk is trusted to run or to be a
// device; files there are data (the journal is signed, the sealed files
// are checked by the TPM).
const diskFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// DiskOptions names diskFlags as mount(8) does.
const DiskOptions = "nosuid,nodev,noexec"

// diskPoll is how often MountDisk looks for the device.
const diskPoll = 50 * time.Millisecond

// MountDisk mounts d through sys, waiting up to d.Wait for the device
// node. A mount point that is mounted already is left as it is (a second
// step of the same image, or u-root's init, mounted it).
func MountDisk(sys System, d Disk) error {
	if d.FSType == "" {
		d.FSType = "ext4"
	}
	if !path.IsAbs(d.Device) || !path.IsAbs(d.Dir) || path.Clean(d.Dir) != d.Dir || d.Dir == "/" {
		return fmt.Errorf("disk %s on %s: want absolute paths (and not /)", d.Device, d.Dir)
	}
	if b, err := sys.ReadFile(mountsFile); err == nil && parseMounts(b)[d.Dir] {
		return nil
	}
	for tries := int(d.Wait / diskPoll); !sys.Exists(d.Device); tries-- {
		if tries <= 0 {
			return fmt.Errorf("disk %s: no such device after %s", d.Device, d.Wait)
		}
		time.Sleep(diskPoll)
	}
	return (&runtime{sys: sys}).mountOne(mount{source: d.Device, target: d.Dir, fstype: d.FSType, flags: diskFlags})
}

// MountReport is a mounted Disk as `slkit efi mount` reports it (its
// fields in the order of their JSON names).
type MountReport struct {
	Device  string `json:"device"`
	Dir     string `json:"dir"`
	FSType  string `json:"fstype"`
	Options string `json:"options"`
}

// Report is the report of d mounted (with DiskOptions).
func (d Disk) Report() *MountReport {
	return &MountReport{Device: d.Device, Dir: d.Dir, FSType: d.FSType, Options: DiskOptions}
}

// Text is the report in one line.
func (r *MountReport) Text() string {
	return fmt.Sprintf("%s mounted on %s (%s, %s)\n", r.Device, r.Dir, r.FSType, r.Options)
}
