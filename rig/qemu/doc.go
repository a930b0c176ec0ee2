// Package qemu is the VM half of slkit's test rig (swtpm processes are
// package rig/swtpm): a control-channel multiplexer between QEMU and swtpm (for
// emulated DRTM and forced localities), QEMU with SeaBIOS direct kernel boot
// or OVMF (plain or Secure Boot), serial-console expectations and boot
// phases, and a guest→host request channel on the guest's second serial
// port.
//
// Where things are:
//
//	mux.go         Mux: QEMU ⇄ mux ⇄ swtpm control channel; Hash, PostLaunchLocality, ReleaseLocality, Inject
//	muxframe.go    control-channel framing (tpm_ioctl.h sizes, SCM_RIGHTS)
//	dce.go         DCE: the host-channel verbs tpm-hash, tpm-locality, dce-leave, armed once per platform reset or leave
//	tpmverbs.go    the verb names
//	vm.go          StartVM, VM options; vmargs.go the QEMU command line
//	accel.go       tcg unless a KVM probe boot gets through
//	firmware.go    OVMF CODE/VARS (private copy or a caller's persistent store)
//	esp.go         MakeESP (mtools) and WithESP: boot a UKI the firmware verifies
//	kernel.go      the Debian cloud kernel in the make-deps cache
//	console.go     console capture (console.log), streaming, Expect
//	phases.go      Tracker: firmware, kernel, init and slkit phases; the guest's result
//	rig.go         StartRig: swtpm + mux + host channel + QEMU, closed together
//	qemutest/      helpers for tests in other packages (RequireRig, TestGuest)
//
// The guest⇄host protocol on ttyS1 is package slaunch/hostchan: the
// emulated DRTM backend is its guest side, this package its host side.
//
// How a guest reports: console lines `slkit: phase=NAME t=SECONDSs` and
// `slkit: result=ok` or `slkit: result=fail reason=TEXT` (phases.go). The
// rig does not use isa-debug-exit: a result is something a person reading
// the console should see too.
//
// Every process the rig starts is ended by its PID (Close, and
// Pdeathsig=SIGKILL so that nothing outlives a killed test binary); nothing
// here uses pkill/killall. The rig knows nothing about slkit's launch flow:
// it boots any kernel and initramfs.
package qemu
