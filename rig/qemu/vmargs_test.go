package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func requireOVMF(t *testing.T, o OVMF) {
	t.Helper()
	code, tmpl := o.files()
	for _, f := range []string{code, tmpl} {
		if _, err := os.Stat(f); err != nil {
			skipOrFatal(t, err.Error())
		}
	}
}

// TestArgs checks the QEMU command lines against the ones known to work
// with Debian's QEMU 7.2 and OVMF 2022.11 (rig/qemu/doc.go).
func TestArgs(t *testing.T) {
	requireOVMF(t, OVMF{SecureBoot: true})
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		cfg  vmConfig
		want []string
		not  []string
	}{
		{"SeaBIOS direct boot with TPM and host channel",
			vmConfig{kernel: "K", initrd: "I", appendArgs: "console=ttyS0", memMiB: 512, accel: "tcg", noReboot: true,
				tpmSocket: "/s/mux.sock", tpmDevice: "tpm-tis", hostChanSocket: "/s/host.sock"},
			[]string{"-accel tcg", "-m 512", "-smp 1", "-machine pc", "-no-reboot", "-kernel K", "-initrd I", "-append console=ttyS0",
				"-chardev socket,id=chrtpm,path=/s/mux.sock", "-tpmdev emulator,id=tpm0,chardev=chrtpm", "-device tpm-tis,tpmdev=tpm0",
				"-chardev socket,id=hostchan,path=/s/host.sock", "-serial chardev:con", "-serial chardev:hostchan"},
			[]string{"pflash", "smm"}},
		{"OVMF Secure Boot, tpm-crb, in-VM reboot",
			vmConfig{kernel: "K", memMiB: 512, accel: "kvm", ovmf: &OVMF{SecureBoot: true}, tpmSocket: "/s/t", tpmDevice: "tpm-crb"},
			[]string{"-accel kvm", "-machine q35,smm=on", "-global driver=cfi.pflash01,property=secure,value=on",
				"-drive if=pflash,format=raw,unit=0,readonly=on,file=" + filepath.Join(ovmfDir, ovmfCodeSecure),
				"-drive if=pflash,format=raw,unit=1,file=" + filepath.Join(dir, "OVMF_VARS.fd"), "-device tpm-crb,tpmdev=tpm0"},
			[]string{"-no-reboot", "-initrd"}},
		{"two vCPUs", vmConfig{kernel: "K", memMiB: 512, accel: "tcg", cpus: 2}, []string{"-smp 2"}, []string{"-smp 1"}},
		{"OVMF Secure Boot in setup mode, booting an ESP",
			vmConfig{esp: "/s/esp.img", memMiB: 512, accel: "tcg", ovmf: &OVMF{SecureBoot: true, SetupMode: true}},
			[]string{"-machine q35,smm=on", "-drive if=pflash,format=raw,unit=0,readonly=on,file=" + filepath.Join(ovmfDir, ovmfCodeSecure),
				"-drive if=none,id=esp,format=raw,file=/s/esp.img", "-device virtio-blk-pci,drive=esp"},
			[]string{"-kernel", "-append"}},
	} {
		a, err := c.cfg.args(dir)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		line := " " + strings.Join(a, " ") + " "
		for _, w := range c.want {
			if !strings.Contains(line, " "+w+" ") {
				t.Errorf("%s: %q missing from %s", c.name, w, line)
			}
		}
		for _, n := range c.not {
			if strings.Contains(line, n) {
				t.Errorf("%s: %q in %s", c.name, n, line)
			}
		}
	}
	if code, tmpl := (&OVMF{SecureBoot: true, SetupMode: true}).files(); code != filepath.Join(ovmfDir, ovmfCodeSecure) || tmpl != filepath.Join(ovmfDir, ovmfVars) {
		t.Errorf("setup mode: %s with %s, want the Secure Boot build with the store without keys", code, tmpl)
	}
	if _, err := (&vmConfig{esp: "e", kernel: "K", ovmf: &OVMF{}}).args(dir); err == nil {
		t.Error("an ESP boot with -kernel was accepted")
	}
	if _, err := (&vmConfig{esp: "e"}).args(dir); err == nil {
		t.Error("an ESP boot without OVMF was accepted")
	}
	if _, err := (&vmConfig{tpmSocket: "x", tpmDevice: "tpm-crb"}).args(dir); err == nil {
		t.Error("tpm-crb accepted on the pc machine")
	}
	if _, err := (&vmConfig{tpmSocket: "x", tpmDevice: "tpm-spi"}).args(dir); err == nil {
		t.Error("an unknown TPM device was accepted")
	}
}

// TestPrepareVars: a caller's store is created from the template once and
// then kept as it is; without one, each VM gets a fresh private copy.
func TestPrepareVars(t *testing.T) {
	requireOVMF(t, OVMF{})
	dir := t.TempDir()
	_, tmpl := (&OVMF{}).files()
	template, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "mine.fd")
	o := OVMF{Vars: mine}
	if p, err := o.prepareVars(dir); err != nil || p != mine {
		t.Fatalf("prepareVars = %s, %v", p, err)
	}
	if b, _ := os.ReadFile(mine); string(b) != string(template) {
		t.Fatal("a new store is not a copy of the template")
	}
	os.WriteFile(mine, []byte("written by the firmware"), 0o600)
	if _, err := o.prepareVars(dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(mine); string(b) != "written by the firmware" {
		t.Fatal("an existing store was overwritten")
	}
	p, err := (&OVMF{}).prepareVars(dir)
	if err != nil || filepath.Dir(p) != dir {
		t.Fatalf("private copy %s, %v", p, err)
	}
	if b, _ := os.ReadFile(p); string(b) != string(template) {
		t.Fatal("the private copy is not the template")
	}
}

func TestCachedKernelMissing(t *testing.T) {
	t.Setenv("SLKIT_CACHE", t.TempDir())
	_, err := CachedKernel()
	if !errors.Is(err, ErrNoKernel) || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("err = %v, want ErrNoKernel naming make deps", err)
	}
}

func TestAccelOverride(t *testing.T) {
	t.Setenv(EnvAccel, "tcg")
	if a := Accel("/nonexistent"); a != "tcg" {
		t.Fatalf("Accel = %q with %s=tcg", a, EnvAccel)
	}
}
