// Package journal is slkit's deferred-commit journal for EFI variables:
// the launched OS queues variable changes in a signed file on disk and
// calls no EFI runtime service; the pre-launch environment verifies and
// commits them after the next reboot, before it stages the dynamic
// launch. The format, the replay rules and the errno policy are in
// efi/README.md.
//
// The launched OS (`slkit efi queue`, `slkit update prepare`):
//
//	key, _ := journal.ParsePrivateKey(keyBytes) // raw or PEM Ed25519, e.g. from `slkit unseal`
//	j, err := journal.Enqueue(journalPath, statePath, key, []journal.Change{
//		{Op: journal.OpSet, Var: vendorVar, Attr: efi.DefaultAttr, Data: value, Expect: journal.ExpectData(old)},
//		{Op: journal.OpSet, Var: efi.BootOrder, Attr: efi.DefaultAttr, Data: efi.MarshalBootOrder(order)},
//	})
//
// One Enqueue is one atomic replace of the journal (all of the changes or
// none after a crash); j.Generation is the generation they will be
// committed in.
//
// The pre-launch environment (`slkit efi commit`, `slkit launch`):
//
//	vars, err := efi.Open(efi.WithMutable(allowed...)) // /sys/firmware/efi/efivars
//	res, err := journal.Commit(ctx, vars, journalPath, statePath, pub, journal.WithAllowed(allowed...))
//	// err != nil: the journal was refused as a whole (bad signature, wrong
//	// key, malformed, replayed, not allowed) or progress could not be
//	// recorded; nothing more was written.
//	// res.RebootRequired: reboot through the firmware before launching
//	// (BootNext or OsIndications changed).
//	// res.Err(): entries that failed or wait for the next boot.
//
// Commit is cheap to call at every boot: no journal is an empty Result,
// and a journal whose entries are all final writes nothing (not even the
// state file). A launch flow therefore runs Commit, then reboots when
// res.RebootRequired (or, if it wants the rest done now,
// res.RetryAfterReboot), and otherwise stages the launch; after the
// firmware reboot the next Commit finds every entry done earlier and
// reports RebootRequired false, so the reboot happens once. [Inspect]
// shows a journal and its progress without writing anything.
//
// Tests run both sides over efi/efitest (the variables) and efi/efitest/crashfs
// (the disk, via WithFS).
package journal
