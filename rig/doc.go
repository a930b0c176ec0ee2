// Package rig is slkit's test rig, kept apart from the product: nothing
// outside rig/ and the tests imports it (internal/layering checks this).
//
//	rig/swtpm      swtpm processes (Start, ended by PID) and swtpm's control channel (tpm_ioctl.h)
//	rig/qemu       QEMU with SeaBIOS or OVMF, the control-channel mux, the DCE service that decides when a DCE event may happen, phases, disks
//	rig/rigtest    end-to-end scenarios for tests: the slkit binary, images, boots, checks
//	rig/e2e        the end-to-end tests themselves: measured launch, DRTM, the update workflow,
//	               the seed's flow on OVMF (make demo), power cuts during a commit, the update-cycle benchmark
//
// rig/cmd/slkit-rig is its command line (`slkit-rig run`), a binary of its
// own: no slkit build, host or image, links the rig.
package rig
