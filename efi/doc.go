// Package efi reads and writes UEFI variables through Linux efivarfs and
// holds the pieces slkit's deferred-commit workflow is built from.
//
// A launched OS never calls EFI runtime services (docs/seed-flow.md): it
// queues the variable changes it wants in a signed journal
// on disk (package efi/journal), and the pre-launch environment commits them
// after the next reboot, before it stages the dynamic launch.
//
// # Layers
//
//   - [Backend] is the hardware seam: an efivarfs directory, one file per
//     variable, reached only through open/read/write/unlink and the
//     FS_IOC_GETFLAGS/SETFLAGS ioctls. [Open] returns the real one at
//     /sys/firmware/efi/efivars; efi/efitest.New returns an
//     efivarfs-faithful fake for tests. Both are interchangeable under
//     [Vars].
//   - [Vars] is the variable layer: [Vars.List], [Vars.Get], [Vars.Set],
//     [Vars.Append], [Vars.Delete]. It handles the efivarfs traps listed
//     in the package README: one write(2) per value (each write is one
//     SetVariable call), never O_TRUNC, read until EOF rather than by the
//     stat size, the immutable flag cleared only for allow-listed
//     variables (the kernel's list plus [WithMutable] patterns), zero-length
//     phantom files treated as absent, and the APPEND bit masked on read.
//   - [Vars.EnrollSecureBoot] enrols a Secure Boot key set in setup mode
//     from signed writes made on the build host (package efi/secureboot),
//     db, then KEK, then PK (UEFI 2.10 §32.3).
//   - Parsers for the payloads slkit must understand, all bounds-checked
//     and fuzzed, so that no go-uefi parser that exits the process on
//     malformed input ever sees unchecked bytes: [ParseLoadOption]
//     (Boot####), [ParseBootOrder], [ParseSignatureLists] (db/dbx/KEK/PK),
//     [ParseAuth2] (EFI_VARIABLE_AUTHENTICATION_2), and the kernel's own
//     write-time checks ([ValidateKernel]).
//
// Specification references are to the UEFI Specification 2.10 (section
// 8.2 Variable Services, 3.1.3 Load Options, 3.3 Globally Defined
// Variables, 32.4 Signature Database) and to Linux fs/efivarfs and
// drivers/firmware/efi/vars.c.
package efi
