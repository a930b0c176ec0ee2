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
//	slkit  slkit launch: verify the signed policy, measure the policy, kernel,
//	       initrd and command line into every bank (one TPM2_PCR_Extend per
//	       event), write and append the event log, kexec_file_load, execute
//	kexec  the baseline: plain u-root pkg/boot kexec of the same kernel, initrd
//	       and command line (rig/e2e/internal/kexecbaseline)
//	hash   the guest's own hashing limit: only read the same files and hash
//	       them in the same four banks with the standard library, a goroutine
//	       per bank (rig/e2e/internal/hashbaseline)
//
// with a guest of 1 and of 2 vCPUs (cpus=N). Each iteration boots the
// three images in turn, so that a host whose load drifts weighs on all
// three alike (run with -benchtime Nx: each boot is 10-25 s here, more on
// a loaded host). Metrics: slkit-s and kexec-s, host time from the
// pre-launch environment's phase=run line to the target's phase=init line
// (the target's kernel boot is in both); hash-s, from phase=run to
// phase=hashed; x-raw, slkit-s / kexec-s; x-hash-limit, slkit's overhead
// over plain kexec as a multiple of the hashing limit,
// (slkit-s − kexec-s) / hash-s. Where the time goes: slkit-measure-s
// (phase=measure to phase=kexec: hashing, extends, log), slkit-kexec-s and
// kexec-kexec-s (phase=kexec to the target's init: load, hand-over, the
// target's kernel boot).
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
		"kexec": e.Image("baseline.cpio", append(withCmdline,
			"--slkit-binary", e.GoBinary("github.com/slkit/slkit/rig/e2e/internal/kexecbaseline"), "--run", "unused")...),
		"hash": e.Image("hash.cpio", append(append(withCmdline, policy...),
			"--slkit-binary", e.GoBinary("github.com/slkit/slkit/rig/e2e/internal/hashbaseline"), "--run", "unused")...),
	}
	// Each image ends its timed span with its own phase.
	ends := map[string]string{"slkit": "init", "kexec": "init", "hash": "hashed"}
	for _, cpus := range []int{1, 2} {
		b.Run(fmt.Sprintf("cpus=%d", cpus), func(b *testing.B) {
			total := map[string]time.Duration{}
			for i := 0; i < b.N; i++ {
				for _, impl := range []string{"slkit", "kexec", "hash"} {
					boot := e.Boot(images[impl], cmdline, rigtest.WithVM(qemu.WithCPUs(cpus)))
					boot.MustSucceed(b)
					run, ok1 := boot.Phase("run", "")
					end, ok2 := boot.Phase(ends[impl], "run")
					if !ok1 || !ok2 {
						b.Fatalf("%s: phases run and then %s not both seen: %s", impl, ends[impl], boot)
					}
					total[impl] += end - run
					// Where the time goes: slkit's measure phase (hashing,
					// extends, log), and each kexec's load and hand-over.
					m, ok1 := boot.Phase("measure", "run")
					x, ok2 := boot.Phase("kexec", "run")
					if ok1 && ok2 {
						total["slkit-measure"] += x - m
					}
					if ok2 && impl != "hash" {
						total[impl+"-kexec"] += end - x
					}
				}
			}
			s, k, h := total["slkit"].Seconds(), total["kexec"].Seconds(), total["hash"].Seconds()
			n := float64(b.N)
			b.ReportMetric(s/n, "slkit-s")
			b.ReportMetric(k/n, "kexec-s")
			b.ReportMetric(h/n, "hash-s")
			b.ReportMetric(total["slkit-measure"].Seconds()/n, "slkit-measure-s")
			b.ReportMetric(total["slkit-kexec"].Seconds()/n, "slkit-kexec-s")
			b.ReportMetric(total["kexec-kexec"].Seconds()/n, "kexec-kexec-s")
			b.ReportMetric(s/k, "x-raw")
			b.ReportMetric((s-k)/h, "x-hash-limit")
		})
	}
}
