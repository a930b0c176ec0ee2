// Package tpm is slkit's TPM 2.0 layer: opening a TPM from a spec string,
// PCR banks, reads and extends, the TCG PC Client event log (parse, write,
// replay, JSON and CEL-JSON export, verification against a TPM), and sealing.
//
// Every operation takes a transport.TPM (go-tpm's one-method seam); nothing
// here opens a device except Open. The package knows nothing about kernels,
// EFI or QEMU.
//
// References: TPM 2.0 Library Part 2 (structures) and Part 3 (commands);
// TCG PC Client Platform Firmware Profile (PFP) 1.05 §10 for the event log;
// TCG Canonical Event Log Format 1.0 for CEL-JSON.
package tpm
