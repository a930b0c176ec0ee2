package e2e_test

import (
	"os"
	"testing"
	"time"
)

// BenchmarkSeedUpdateCycle times the seed flow's update cycle both ways in
// the same QEMU run on the OVMF rig (TestSeedFlowOnOVMF's run 1), from
// "the target queues" (its job starts) to "the target unsealed again" (the
// next launch's fingerprint line):
//
//	s/round-trip  queue, leave the launch, kexec the pre-launch environment
//	              from the disk (measured), commit, DCE event, measure,
//	              kexec the target, boot it, unseal
//	s/reboot      queue, reboot through the firmware, commit, reboot once
//	              more (BootNext), launch, boot the target, unseal
//
// and their ratio (round-trip/reboot). Each iteration is a whole run with
// a fresh variable store and disk: run with -benchtime 1x.
func BenchmarkSeedUpdateCycle(b *testing.B) {
	var rt, rb time.Duration
	r := setupSeed(b, newSeedDemo(b))
	for i := 0; i < b.N; i++ {
		os.Remove(r.vars)
		r.writeDisk(b)
		r.request(b, "round-trip", "reboot-update")
		boot := r.boot(20 * time.Minute)
		boot.MustSucceed(b)
		ls := targetLaunches(boot)
		if len(ls) != 3 {
			b.Fatalf("%d launches, want 3", len(ls))
		}
		for k, l := range ls[:2] {
			from := l.env().at("slkit: phase=job")
			to := ls[k+1].env().at(ls[k+1].fingerprints[0])
			if from == 0 || to <= from {
				b.Fatalf("launch %d: no job start or unseal to time (%v, %v)", k+1, from, to)
			}
			if k == 0 {
				rt += to - from
			} else {
				rb += to - from
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(rt.Seconds()/n, "s/round-trip")
	b.ReportMetric(rb.Seconds()/n, "s/reboot")
	b.ReportMetric(rt.Seconds()/rb.Seconds(), "round-trip/reboot")
}
