// Package pid1 is the runtime of slkit's pre-launch initramfs: the code
// that runs as /init (PID 1) of a minimal image, or as the uinit that
// u-root's init starts in a full image (package initramfs builds both).
//
// It mounts what the launch needs, loads the configured kernel modules,
// runs the configured slkit command (by default `slkit launch` with the
// image's policy and key), and fails closed: when the command fails it
// prints the reason and powers off (or reboots, as the image was built);
// it never drops into a shell unless the image was built with a debug
// shell. Every system call goes through the System interface, so the
// whole flow is unit-tested without root.
//
// The command runs as a child process of the same binary (/proc/self/exe),
// not in-process: PID 1 must never exit (the kernel panics when it does),
// and a child's failure of any kind — an error, a Go panic, a signal, an
// os.Exit deep in a library — is seen by PID 1, which then reports it and
// takes the configured action. The cost is one fork and exec of a binary
// already in the page cache (a few milliseconds). kexec works from the
// child: reboot(2) needs CAP_SYS_BOOT, not PID 1.
//
// After the image's steps it runs the job its request file names, if any
// (initramfs.Job: measured step lists a one-shot request on a disk
// selects; jobs.go), and a step marked "!" must be refused (exit 1 or 3).
//
// Console lines, parsed by the rig (qemu.Tracker):
//
//	slkit: phase=<init|mount|modules|efivarfs|run|job|shell|poweroff|reboot> t=<uptime>s
//	slkit: job <name> requested in <file> (<n> more queued there)
//	slkit: refused, as it must be: <the command's error line>
//	slkit: result=ok
//	slkit: result=fail reason=<the command's error line, or what failed>
//	slkit: warning: <a module or efivarfs that could not be loaded or mounted>
package pid1
