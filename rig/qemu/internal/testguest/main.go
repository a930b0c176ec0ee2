// Command testguest is the rig's test guest: run as /init, it performs the
// actions named by the kernel parameter testguest=a,b,c and powers off.
// Every result is a console line starting with "TESTGUEST ".
//
//	pcr17        print PCR17 (sha1, sha256)
//	hostchan     ask the host (ttyS1) to run the _TPM_Hash sequence over "1234", then print PCR17
//	eventlog     print the firmware event log (base64) and PCRs 0-7 of every bank (JSON)
//	primary      print the name of the owner hierarchy's ECC SRK-template primary key
//	             (the same TPM state gives the same name)
//	ok, fail     print the rig's result line (slkit: result=ok / result=fail reason=...)
//	reboot       reboot instead of powering off
//
// After mounting proc, sys, devtmpfs and securityfs it prints the rig's
// phase marker, slkit: phase=init t=<uptime>s.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-tpm/tpm2"
	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/slaunch/hostchan"
	"github.com/slkit/slkit/tpm"
)

func main() {
	start := time.Now()
	mounts := []struct{ src, dst, typ string }{
		{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"}, {"securityfs", "/sys/kernel/security", "securityfs"},
	}
	for _, m := range mounts {
		os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.typ, 0, ""); err != nil && err != unix.EBUSY {
			say("error mount %s: %v", m.dst, err)
		}
	}
	fmt.Printf("slkit: phase=init t=%ss\n", uptime())
	reboot := false
	for _, a := range actions() {
		var err error
		switch a {
		case "pcr17":
			err = printPCR17()
		case "hostchan":
			err = hostHash()
		case "eventlog":
			err = printEventLog()
		case "primary":
			err = printPrimary()
		case "ok":
			fmt.Println("slkit: result=ok")
		case "fail":
			fmt.Println("slkit: result=fail reason=the test guest was asked to fail")
		case "reboot":
			reboot = true
		default:
			err = fmt.Errorf("unknown action %q", a)
		}
		if err != nil {
			say("error %s: %v", a, err)
		}
	}
	say("done t=%.2fs", time.Since(start).Seconds())
	unix.Sync()
	if reboot {
		unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	}
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

// uptime is the first field of /proc/uptime (seconds, two decimals).
func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "0"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "0"
	}
	return f[0]
}

func printPrimary() error {
	t, err := openTPM()
	if err != nil {
		return err
	}
	defer t.Close()
	rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(t)
	if err != nil {
		return err
	}
	defer tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}.Execute(t)
	say("primary %x", rsp.Name.Buffer)
	return nil
}

func say(f string, a ...any) { fmt.Printf("TESTGUEST "+f+"\n", a...) }

func actions() []string {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "testguest="); ok {
			return strings.Split(v, ",")
		}
	}
	return nil
}

func openTPM() (*tpm.Conn, error) { return tpm.Open("device:/dev/tpm0") }

func printPCR17() error {
	t, err := openTPM()
	if err != nil {
		return err
	}
	defer t.Close()
	p, err := tpm.ReadBanks(t, []tpm.Alg{tpm.SHA1, tpm.SHA256}, []int{17})
	if err != nil {
		return err
	}
	for _, a := range p.Algs() {
		d, _ := p.Get(a, 17)
		say("pcr 17 %s %s", a, d)
	}
	return nil
}

func hostHash() error {
	f, err := hostchan.OpenSerial("/dev/ttyS1")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := hostchan.NewClient(f, hostchan.WithTimeout(30*time.Second)).TPMHash([]byte("1234")); err != nil {
		return err
	}
	return printPCR17()
}

func printEventLog() error {
	b, err := os.ReadFile("/sys/kernel/security/tpm0/binary_bios_measurements")
	if err != nil {
		return err
	}
	say("eventlog %s", base64.StdEncoding.EncodeToString(b))
	t, err := openTPM()
	if err != nil {
		return err
	}
	defer t.Close()
	banks, err := tpm.ActiveBanks(t)
	if err != nil {
		return err
	}
	p, err := tpm.ReadBanks(t, banks, []int{0, 1, 2, 3, 4, 5, 6, 7})
	if err != nil {
		return err
	}
	j, _ := json.Marshal(p)
	say("pcrs %s", j)
	return nil
}
