// Package launch executes a measured launch from the pre-launch environment:
// a boot entry (kernel, optional initrd, command line), the measurement
// profile that says which PCR, event type, bytes and description each
// component gets (as data, see Profile and README.md), an offline
// prediction of the PCR values and event log a launch produces (Predict),
// the measurement itself through package tpm (Measure: one TPM2_PCR_Extend
// per event in every active bank, appended to the pre-launch event log),
// the hand-over with kexec through u-root pkg/boot (the Kexec seam), and
// the whole flow driven by a signed launch policy (Launch; package
// launch/policy holds the policy document, its DSSE envelope and keys).
//
// The measurement profile follows the TCG PC Client Platform Firmware
// Profile (PFP) for a boot loader and the Linux TPM PCR registry: kernel
// and initrd in PCR 9, command line and configuration (slkit's launch
// policy) in PCR 8, event type EV_IPL (PFP §10.4.1, Table 9).
package launch
