package slaunch

import (
	"bytes"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
)

// TestHardwareChecklist: the checklist carries this machine's values from
// the recorded probe (txt-ready: SINIT region 0x8fb00000/0x50000, heap
// 0x8fe00000/0x100000, DPR 0x90000031, 2 variable MTRRs, MISC_ENABLE
// 0x850089, a tpm_tis TPM 2.0; skinit-ready; not-capable with every
// blocking reason), what was staged, and what the kernel's layout asks of
// the loader; it fits a page.
func TestHardwareChecklist(t *testing.T) {
	v15 := slaunchtest.Kernel(0x020F, 0x14, 0x200)
	acm := slaunchtest.ACM(slaunchtest.DefaultACM())
	skl := slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000)
	stage := func(platform string, dce, k []byte) string {
		st, _ := StageHardware(HardwareInput{Platform: loadPlatform(t, platform), DCE: dce,
			Images: Images{Kernel: bytes.NewReader(k), KernelSize: int64(len(k)), Cmdline: "quiet"}})
		c := st.Checklist()
		if n := strings.Count(c, "\n"); n > 60 {
			t.Errorf("%s: the checklist has %d lines, more than a page", platform, n)
		}
		return c
	}
	for _, c := range []struct {
		name, got string
		wants     []string
	}{
		{"txt", stage("txt-ready", acm, v15), []string{
			"Intel TXT: ready", "CPU GenuineIntel, signature 0x906ea; TPM 2.0 at /dev/tpm0, driver tpm_tis",
			"[x] SINIT ACM (date", "[x] SLRT (DL_INFO, LOG_INFO, ENTRY_POLICY, INTEL_INFO)",
			"copy the SINIT ACM (" + itoa(len(acm)) + " bytes) to TXT.SINIT.BASE 0x8fb00000 (the region holds 0x50000 bytes)",
			"TXT.DPR 0x90000031", "TXT.HEAP.BASE 0x8fe00000 (0x100000 bytes)", "restore the 2 variable MTRRs and MISC_ENABLE 0x850089",
			"GETSEC[SENTER] with EAX=4", "kernel: Secure Launch v15 kernel", "slkit drtm stage --backend grub"}},
		{"skinit", stage("skinit-ready", skl, v15), []string{
			"AMD SKINIT: ready", "[x] PCR17/18 prediction", "SKINIT streams the SKL's first 0x1800 bytes to the TPM at locality 4",
			"SKINIT with EAX = the SLB's physical address"}},
		{"v16 on txt", stage("txt-ready", acm, slaunchtest.KernelV16()), []string{
			"[x] kernel: Secure Launch v16, no static MLE header", "[x] SINIT ACM (date", "kernel: EFI boot: the loader installs EFI_SLAUNCH_PROTOCOL",
			"write the TXT heap at TXT.HEAP.BASE 0x8fe00000 (0x100000 bytes): OsMleData, OsSinitData and room"}},
		{"not capable", stage("not-capable", skl, v15), []string{
			"Intel TXT: not capable", "[ ] fix: CPU is not an Intel CPU", "[ ] fix: CPU has no SVM", "Neither architecture is ready"}},
	} {
		for _, w := range c.wants {
			if !strings.Contains(c.got, w) {
				t.Errorf("%s checklist lacks %q:\n%s", c.name, w, c.got)
			}
		}
	}
}

func itoa(i int) string {
	var b []byte
	for ; i > 0 || len(b) == 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
