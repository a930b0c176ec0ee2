// Package qemu is slkit's test rig: swtpm instances with their own state
// directories, a control-channel multiplexer between QEMU and swtpm (for
// emulated DRTM and forced localities), QEMU with SeaBIOS direct kernel boot
// or OVMF, and serial-console expectations.
//
// Every process the rig starts is ended by its PID; nothing here uses
// pkill/killall or global state. The rig knows nothing about slkit's launch
// flow: it boots any kernel and initramfs.
package qemu
