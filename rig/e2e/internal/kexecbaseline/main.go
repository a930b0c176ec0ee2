// Command kexecbaseline is the baseline of BenchmarkLaunchVsKexec: an
// /init that does what a plain u-root kexec does — load /boot/vmlinuz with
// /boot/target.cpio and the command line in /boot/cmdline through u-root's
// pkg/boot (kexec_file_load, as slkit tries first) and execute it — with no
// policy, no measurement, no event log. It prints the rig's phase markers
// (`slkit: phase=NAME t=UPTIME`) so the benchmark times both the same way.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/u-root/u-root/pkg/boot"
	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/rig/e2e/internal/guestphase"
)

func main() {
	guestphase.Enter("init")
	guestphase.Enter("run")
	if err := kexec(); err != nil {
		fmt.Printf("slkit: result=fail reason=kexec baseline: %v\n", err)
	}
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

func kexec() error {
	k, err := os.Open("/boot/vmlinuz")
	if err != nil {
		return err
	}
	i, err := os.Open("/boot/target.cpio")
	if err != nil {
		return err
	}
	c, err := os.ReadFile("/boot/cmdline")
	if err != nil {
		return err
	}
	guestphase.Enter("kexec")
	img := &boot.LinuxImage{Name: "baseline", Kernel: k, Initrd: i, Cmdline: strings.TrimSpace(string(c))}
	if err := img.Load(); err != nil {
		return err
	}
	return boot.Execute()
}
