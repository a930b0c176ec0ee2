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
//	impl=hash-only    the guest's own hashing limit: only read the same files and
//	                  hash them in the same four banks with the standard library,
//	                  a goroutine per bank (rig/e2e/internal/hashbaseline)
//
// each with a guest of 1 and of 2 vCPUs (cpus=N). Metric s/launch: host
// time from the pre-launch environment's phase=run line to the target's
// phase=init line (the target's kernel boot is in both); s/hash: from
// phase=run to phase=hashed. slkit's overhead over plain kexec is
// s/launch(slkit) − s/launch(u-root-kexec); scripts/bench.d/30 divides it
// by s/hash. Each iteration is a VM boot (10-25 s here): run with
// -benchtime 1x.
func BenchmarkLaunchVsKexec(b *testing.B) {
	e := rigtest.New(b)
	const cmdline = qemu.DefaultAppend
	target := e.Image("target.cpio", "--run", "pcr read 8")
	kernel := e.Kernel.Path
	oneEntryPolicy(e, "bench", kernel, target, cmdline)
	e.WriteFile("cmdline", cmdline)
	payloads := []string{"--add", kernel + ":/boot/vmlinuz", "--add", target + ":/boot/target.cpio"}
	withCmdline := append(payloads, "--add", e.Path("cmdline")+":/boot/cmdline")
	policy := []string{"--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub")}
	images := map[string]string{
		"slkit": e.Image("slkit.cpio", append(payloads, policy...)...),
		"u-root-kexec": e.Image("baseline.cpio", append(withCmdline,
			"--slkit-binary", e.GoBinary("github.com/slkit/slkit/rig/e2e/internal/kexecbaseline"), "--run", "unused")...),
		"hash-only": e.Image("hash.cpio", append(append(withCmdline, policy...),
			"--slkit-binary", e.GoBinary("github.com/slkit/slkit/rig/e2e/internal/hashbaseline"), "--run", "unused")...),
	}
	// Each impl ends its timed span with its own phase.
	ends := map[string]string{"slkit": "init", "u-root-kexec": "init", "hash-only": "hashed"}
	units := map[string]string{"slkit": "s/launch", "u-root-kexec": "s/launch", "hash-only": "s/hash"}
	for _, cpus := range []int{1, 2} {
		for _, impl := range []string{"slkit", "u-root-kexec", "hash-only"} {
			b.Run(fmt.Sprintf("cpus=%d/impl=%s", cpus, impl), func(b *testing.B) {
				var total time.Duration
				for i := 0; i < b.N; i++ {
					boot := e.Boot(images[impl], cmdline, rigtest.WithVM(qemu.WithCPUs(cpus)))
					boot.MustSucceed(b)
					run, ok1 := boot.Phase("run", "")
					end, ok2 := boot.Phase(ends[impl], "run")
					if !ok1 || !ok2 {
						b.Fatalf("phases run and then %s not both seen: %s", ends[impl], boot)
					}
					total += end - run
				}
				b.ReportMetric(total.Seconds()/float64(b.N), units[impl])
			})
		}
	}
}
