// Package layering holds no code: its test checks the module's package
// structure. The product — every package that a user links or that runs
// in a pre-launch image — never imports the QEMU rig (rig/...), a test
// helper (a package named *test, efi/efitest/crashfs) or a TPM simulator,
// and the slkit binary built for images (-tags slkit_image) has no
// host-only command.
package layering
