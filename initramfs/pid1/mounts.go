package pid1

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mount is one file system the runtime mounts.
type mount struct {
	source, target, fstype string
	flags                  uintptr
}

// baseMounts are mounted in this order, each unless something (u-root's
// init, in a full image) already mounted it: proc first (the rest is
// checked through /proc/self/mounts), sysfs, devtmpfs (the TPM device
// nodes), securityfs (the kernel's TPM event log) inside sysfs.
var baseMounts = []mount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID},
	{"securityfs", "/sys/kernel/security", "securityfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
}

// efivarfs is mounted after the modules are loaded (a distribution kernel
// builds it as a module), and only on an EFI system.
var efivarfs = mount{"efivarfs", "/sys/firmware/efi/efivars", "efivarfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}

// efiDir exists in sysfs when the kernel was booted by EFI firmware.
const efiDir = "/sys/firmware/efi"

// mountsFile lists the mounts of the runtime's namespace (proc(5)).
const mountsFile = "/proc/self/mounts"

// parseMounts returns the mount points listed in a /proc/self/mounts
// text: the second field of each line, with the kernel's octal escapes
// (\040 for a space, …) undone.
func parseMounts(b []byte) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			out[unescape(f[1])] = true
		}
	}
	return out
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
