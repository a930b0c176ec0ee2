// Package nextboot predicts the PCR values of the next boot from the
// machine's own firmware event log: it takes the log of the current boot
// and replaces what will change — the variables a deferred-commit journal
// will set (PCR 1: BootOrder and Boot####; PCR 7: PK, KEK, db, dbx and the
// db entry that will verify the boot image), and the boot image itself
// when a new UKI is given (PCR 4, 9, 11, 12) — then replays the result in
// every bank of the log.
//
// The model is edk2's (SecurityPkg Tcg2Dxe, DxeImageVerificationLib;
// checked on the rig against OVMF 2022.11) and TCG PC Client PFP §10.4.4:
//
//   - PCR 7, before its separator: EV_EFI_VARIABLE_DRIVER_CONFIG for
//     SecureBoot, PK, KEK, db, dbx (an absent variable measured with no
//     data), digest H(UEFI_VARIABLE_DATA); after it, one
//     EV_EFI_VARIABLE_AUTHORITY per distinct db entry that verified an
//     image, UEFI_VARIABLE_DATA{db, EFI_SIGNATURE_DATA}, digest H(all);
//   - PCR 1: EV_EFI_VARIABLE_BOOT (or _BOOT2) for BootOrder, then for each
//     entry of BootOrder the variable "Boot%04x" if it exists (edk2 formats
//     the number in lower-case hex, so Boot000A..F are never found), digest
//     H(variable data);
//   - PCR 4: the boot application's Authenticode digest, after "Calling
//     EFI Application from Boot Option" and the separators.
//
// Every variable event it understands is rebuilt from the variable's
// value, with the digest convention the log itself shows for it (H(data)
// or H(UEFI_VARIABLE_DATA)); an event whose data does not parse or whose
// digest follows neither is kept as it is, and a change to its variable
// makes its PCR unpredictable. Predicting "no change" therefore replays to
// the log's own values exactly when the model holds (tested on public
// real-machine logs).
//
// What it cannot predict it names, per PCR (Prediction.Unpredictable):
// firmware code and data (PCR 0, 2: a capsule update, OsIndications
// file-capsule-delivery), a change of the Secure Boot mode (PK created or
// removed), dbt/dbr, load options that decide the command line (PCR 12
// without an embedded one). A change slkit cannot model at all (BootNext,
// Driver####, a variable the log shows measured in a way slkit does not
// know) is an error (ErrUnpredictable); a change that would stop the next
// boot (dbx revoking the boot image or the db entry that verifies it, db
// losing that entry, an image no db entry verifies) is refused
// (ErrWouldNotBoot).
package nextboot

import "github.com/slkit/slkit/internal/errkind"

var (
	// ErrUnpredictable: a change whose effect on the measurements slkit
	// does not model.
	ErrUnpredictable = errkind.New(errkind.Input, "cannot predict")
	// ErrWouldNotBoot: with this change the firmware would refuse the boot
	// image at the next boot.
	ErrWouldNotBoot = errkind.New(errkind.Input, "the next boot would be refused")
	// ErrLog: the event log lacks what a prediction needs.
	ErrLog = errkind.New(errkind.Input, "event log")
)
