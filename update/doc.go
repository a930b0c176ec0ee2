// Package update is slkit's firmware-update workflow for sealed secrets:
// the launched OS queues EFI variable changes in the signed journal
// (package efi/journal) and calls Prepare; the pre-launch environment
// commits them at the next boot (`slkit launch --efi-journal`), rebooting
// through the firmware when a change only takes effect there; after the
// post-update launch the OS calls Finish.
//
// Why a secret needs care across an update (efi/README.md, "Sealing
// across an update"):
//
//   - PCRs 8/9 (slkit's measured launch) and 17/18 (DRTM) are extended by
//     slkit and the dynamic launch only: a firmware-variable change leaves
//     them as they are, so a secret sealed to them needs nothing when the
//     next entry is the same, and is forward-sealed to the next launch's
//     predicted values when it is not (PredictLaunches).
//   - PCRs 0–7 (SRTM) are extended by the firmware, and change when e.g.
//     BootOrder or a Boot#### changes (PCR 1 holds EV_EFI_VARIABLE_BOOT).
//     They cannot be predicted offline, so Prepare seals an update object
//     that leaves them out and is bound to a bounded update window instead
//     (tpm.CounterBound: a TPM NV counter that every launch increments;
//     the object is released only for the next N launches).
//
// Prepare adds the update object to the sealed file next to the main
// object (tpm.Sealed.Update), which it does not touch; tpm.Unseal tries the
// main object first. Finish reseals the main object to the then-current
// values of all its PCRs, drops the update object and closes the window
// (CloseWindows increments the counter past it) — in that order, so that a
// crash in between never leaves a secret that unseals nowhere.
//
// Via selects how the next launch is reached: a firmware reboot (the
// default), or a kexec back into the pre-launch environment (ViaKexec: no
// firmware runs, PCRs 0–7 keep their values, and PCRs 8/9 are extended
// further by the relaunch, which PredictLaunches chains from the current
// values).
package update
