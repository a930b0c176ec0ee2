package qemu

import (
	"fmt"
	"strconv"
	"strings"
)

func (c *vmConfig) args(dir string) ([]string, error) {
	cpus := max(c.cpus, 1)
	a := []string{"-accel", c.accel, "-m", strconv.Itoa(c.memMiB), "-smp", strconv.Itoa(cpus),
		"-display", "none", "-monitor", "none", "-nodefaults", "-vga", "none",
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con"}
	if c.noReboot {
		a = append(a, "-no-reboot")
	}
	if c.ovmf != nil {
		code, _ := c.ovmf.files()
		vars, err := c.ovmf.prepareVars(dir)
		if err != nil {
			return nil, err
		}
		machine := "q35"
		if c.ovmf.SecureBoot {
			machine = "q35,smm=on"
			a = append(a, "-global", "driver=cfi.pflash01,property=secure,value=on")
		}
		a = append(a, "-machine", machine,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+code,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	} else {
		a = append(a, "-machine", "pc")
	}
	if c.hostChanSocket != "" {
		a = append(a, "-chardev", "socket,id=hostchan,path="+c.hostChanSocket, "-serial", "chardev:hostchan")
	}
	if c.tpmSocket != "" {
		switch {
		case c.tpmDevice != "tpm-tis" && c.tpmDevice != "tpm-crb":
			return nil, fmt.Errorf("TPM device %q: want tpm-tis or tpm-crb", c.tpmDevice)
		case c.tpmDevice == "tpm-crb" && c.ovmf == nil:
			return nil, fmt.Errorf("tpm-crb needs the q35 machine, that is OVMF")
		}
		a = append(a, "-chardev", "socket,id=chrtpm,path="+c.tpmSocket,
			"-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", c.tpmDevice+",tpmdev=tpm0")
	}
	if c.esp != "" {
		if c.kernel != "" || c.ovmf == nil {
			return nil, fmt.Errorf("an ESP boot needs OVMF and no -kernel")
		}
		// QEMU option values escape a comma by doubling it.
		a = append(a, "-drive", "if=none,id=esp,format=raw,file="+strings.ReplaceAll(c.esp, ",", ",,"), "-device", "virtio-blk-pci,drive=esp")
	}
	if c.kernel != "" {
		a = append(a, "-kernel", c.kernel, "-append", c.appendArgs)
		if c.initrd != "" {
			a = append(a, "-initrd", c.initrd)
		}
	}
	return append(a, c.extra...), nil
}
