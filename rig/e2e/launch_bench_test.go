package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
)

// BenchmarkLaunchVsKexec times, on the rig, the hand-over of the
// pre-launch environment to the target, measured in the same run for:
//
//	impl=slkit        slkit launch: verify the signed policy, measure the policy,
//	                  kernel, initrd and command line into every bank (one
//	                  TPM2_PCR_Extend per event), write and append the event
//	                  log, kexec_file_load, execute
//	impl=u-root-kexec the baseline: plain u-root pkg/boot kexec of the same
//	                  kernel, initrd and command line (rig/e2e/internal/kexecbaseline)
//
// Metric s/launch: host time from the pre-launch environment's phase=run
// line to the target's phase=init line (the target's kernel boot is in
// both). Each iteration is a VM boot (10-25 s here): run with -benchtime 1x.
func BenchmarkLaunchVsKexec(b *testing.B) {
	e := rigtest.New(b)
	const cmdline = qemu.DefaultAppend
	target := e.Image("target.cpio", "--run", "pcr read 8")
	kernel := e.Kernel.Path
	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))
	e.WriteFile("policy.json", fmt.Sprintf(`{"version": 1, "entries": [{"name": "bench",
 "kernel": {"path": "/boot/vmlinuz", "sha256": %q}, "initrd": {"path": "/boot/target.cpio", "sha256": %q},
 "cmdline": %q, "profile": "measured-v1"}]}`, rigtest.FileSHA256(b, kernel), rigtest.FileSHA256(b, target), cmdline))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("policy.json"), "--out", e.Path("policy.signed"))
	e.WriteFile("cmdline", cmdline)
	payloads := []string{"--add", kernel + ":/boot/vmlinuz", "--add", target + ":/boot/target.cpio"}
	images := map[string]string{
		"slkit": e.Image("slkit.cpio", append(payloads, "--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"))...),
		"u-root-kexec": e.Image("baseline.cpio", append(payloads, "--add", e.Path("cmdline")+":/boot/cmdline",
			"--slkit-binary", e.GoBinary("github.com/slkit/slkit/rig/e2e/internal/kexecbaseline"), "--run", "unused")...),
	}
	for _, impl := range []string{"slkit", "u-root-kexec"} {
		b.Run("impl="+impl, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				boot := e.Boot(images[impl], cmdline)
				boot.MustSucceed(b)
				run, ok1 := boot.Phase("run", "")
				init, ok2 := boot.Phase("init", "run")
				if !ok1 || !ok2 {
					b.Fatalf("phases run and then init not both seen: %s", boot)
				}
				total += init - run
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/launch")
		})
	}
}
