package initramfs

// Fixed paths inside every image this package builds. The PID-1 runtime
// (package initramfs/pid1) and `slkit launch` rely on them; they are part
// of the image format and documented in the package comment.
const (
	// InitPath is the program the kernel starts (init/main.c tries
	// /init first for an initramfs). In a minimal image it is slkit
	// itself; in a full image a symlink to u-root's init.
	InitPath = "/init"
	// ConfigPath holds the init configuration (Config, JSON).
	ConfigPath = "/etc/slkit/init.json"
	// PolicyPath holds the signed launch policy, byte for byte as given.
	PolicyPath = "/etc/slkit/policy.json"
	// PolicyKeyPath holds the policy's Ed25519 public key (PEM).
	PolicyKeyPath = "/etc/slkit/policy.pub"
	// ModulesDir holds the kernel modules given with --module, loaded by
	// the runtime in the order given.
	ModulesDir = "/lib/modules"
	// ConsolePath is the console device node (character device 5,1) the
	// kernel opens as the first process's stdin, stdout and stderr.
	ConsolePath = "/dev/console"
	// UinitFlagsPath is where u-root's init reads the uinit's arguments
	// (full images only).
	UinitFlagsPath = "/etc/uinit.flags"
)

// Device numbers of /dev/console (Documentation/admin-guide/devices.txt:
// major 5, minor 1, "system console").
const (
	consoleMajor = 5
	consoleMinor = 1
)

// runtimeDirs are the directories every image has, with their modes: the
// mount points of the PID-1 runtime (proc, sys, dev), the runtime state
// directory of slkit launch (/run/slkit), the scratch space u-root's kexec
// copies the initrd to (/tmp, sticky and world-writable), and /etc/slkit.
var runtimeDirs = []struct {
	name string
	mode uint64
}{
	{"bin", 0o755},
	{"dev", 0o755},
	{"etc", 0o755},
	{"etc/slkit", 0o755},
	{"lib", 0o755},
	{"proc", 0o555},
	{"run", 0o755},
	{"sys", 0o555},
	{"tmp", 0o1777},
}

// reserved are destinations --add may not use, because the image's own
// files or the runtime's mounts live there. A payload may go anywhere
// else (e.g. /boot/vmlinuz).
var reserved = []string{"/init", "/dev", "/proc", "/sys", "/run", "/tmp", "/etc/slkit", ModulesDir, UinitFlagsPath, "/bin/uinit", slkitBinPath, "/bbin"}
