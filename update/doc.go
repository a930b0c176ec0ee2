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
//   - PCRs 0–7 (SRTM) are extended by the firmware; the queued changes
//     are measured into some of them (journal.MeasuredPCRs: PCR 1 for
//     BootOrder and Boot####, PCR 7 for the Secure Boot variables). Those
//     cannot be predicted offline, so Prepare seals an update object that
//     leaves them out and is bound instead to a bounded update window
//     (tpm.CounterBound: a TPM NV counter that only the pre-launch stage
//     increments, once per launch) and to the PCRs the pre-launch stage
//     measures and caps (8, 9), which another OS booted meanwhile cannot
//     reproduce.
//
// Prepare adds the update object to the sealed file next to the main
// object (tpm.Sealed.Update), which it does not touch; tpm.Unseal tries the
// main object first. Finish reseals the main object to the then-current
// values of all its PCRs and drops the update object; the next launch
// closes the window. The pre-launch half is PreLaunch (the journal's
// commit against its TPM anchor, the window counter) and PolicyAnchor (the
// launch policy's rollback check).
//
// Via selects how the next launch is reached: a firmware reboot (the
// default), or a kexec back into the pre-launch environment (ViaKexec: no
// firmware runs, PCRs 0–7 keep their values, and PCRs 8/9 are extended
// further by the relaunch, which PredictLaunches chains from the current
// values).
package update
