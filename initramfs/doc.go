// Package initramfs builds slkit's pre-launch initramfs, reproducibly: the
// same inputs give the same bytes, on any host, at any time.
//
// Two kinds of image, both newc cpio archives (the format the kernel
// unpacks, Documentation/driver-api/early-userspace/buffer-format.rst),
// written with u-root's pkg/cpio (never the cpio or find programs):
//
//   - minimal (the default): slkit itself, built static (CGO_ENABLED=0,
//     -trimpath, -buildvcs=false, -ldflags "-s -w -buildid="), is /init.
//     Run as PID 1 it is the runtime of package initramfs/pid1.
//   - full (WithFull): u-root's core commands (init, gosh, ls, cat, dmesg,
//     mount, kexec) and slkit in one busybox binary built by mkuimage
//     (`go tool mkuimage`, pinned in go.mod); u-root's init is /init and
//     runs `slkit init` as its uinit, which is the same runtime. mkuimage's
//     archive is read back and rewritten in canonical form.
//
// Layout of both (paths inside the image):
//
//	/init                    slkit (minimal) or u-root's init (full)
//	/etc/slkit/init.json     the init configuration (Config): the slkit
//	                         arguments to run, the failure action, the debug-shell flag,
//	                         the modules to load
//	/etc/slkit/policy.json   the signed launch policy, byte for byte (WithPolicy)
//	/etc/slkit/policy.pub    its Ed25519 public key (PEM)
//	/lib/modules/NAME.ko     kernel modules (WithModule), uncompressed
//	/dev/console             character device 5,1
//	/bin /dev /etc /lib /proc /run /sys /tmp   the directories the runtime needs
//	DST                      payloads (WithPayload, --add SRC:DST), e.g. /boot/vmlinuz
//	/bbin/…, /bin/uinit, /etc/uinit.flags   u-root's busybox and its links (full)
//
// The canonical form (see archive.go) sorts records by name, adds missing
// parent directories, sets owners and mtimes to 0, numbers inodes in
// order, and keeps only the mode bits and device numbers that matter, so
// the archive depends on nothing but the files' names, modes and bytes.
//
// Build also reports the image's contribution when it is measured as an
// initrd under the default measurement profile (PCR 9, EV_IPL, event
// digest H(archive) in every bank; InitrdContribution).
package initramfs
