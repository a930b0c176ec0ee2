// Package rigtest runs slkit's launch flows end to end on the QEMU rig,
// for tests: the real Debian kernel, swtpm, kexec, and the slkit binary a
// user runs, driven through its CLI the way scripts/demo-measured.sh drives it.
//
// A scenario is an Env: a scratch directory, a static slkit binary built
// from this checkout, and one swtpm state directory that both the host
// (sealing to predicted PCR values) and the VM (launching) use, so that
// the host seals to the very TPM the guest boots with.
//
//	e := rigtest.New(t)                          // skips without QEMU/swtpm/kernel (fails with SLKIT_REQUIRE_RIG=1)
//	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))
//	target := e.Image("target.cpio", "--run", "pcr read 8 9", "--then", "unseal /slkit/s.sealed --fingerprint")
//	...
//	e.WithHostTPM(func(spec string) { e.Run("--tpm", spec, "seal", ...) })
//	b := e.Boot(pre, qemu.DefaultAppend)          // waits for QEMU to exit
//	b.MustSucceed(t)                              // the last `slkit: result=` line is ok
//
// Every process is ended by its PID in t.Cleanup (qemu.Rig.Close).
package rigtest
