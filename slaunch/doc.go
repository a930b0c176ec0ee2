// Package slaunch stages a dynamic launch (DRTM): Intel TXT GETSEC[SENTER]
// or AMD SKINIT, in the TrenchBoot way.
//
// It holds the platform probe (TXT and SKINIT readiness, every hardware read
// behind the Platform interface), the parsers of the launch inputs (SINIT
// ACM, AMD Secure Kernel Loader, the kernel's MLE header), the builders of
// the launch data (Secure Launch Resource Table, TXT OsSinitData, the DRTM
// TCG event log), the prediction of PCR17/PCR18, the launch backends
// (emulated, grub, hardware, with Secure Launch v15 and v16 kernels) and
// the check that a dynamic launch really happened, on slkit's own DRTM log
// or the one a Secure Launch kernel exposes in securityfs.
//
// The byte layouts follow the sources cited on each type; README.md names
// the pinned SLRT revision, the emulated DCE and the DRTM measurement
// profile.
package slaunch
