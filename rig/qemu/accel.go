package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/internal/fsys"
)

// EnvAccel overrides the accelerator choice: "kvm" or "tcg".
const EnvAccel = "SLKIT_ACCEL"

// kvmProbeTimeout bounds the probe boot. Under KVM the kernel prints its
// banner in well under a second; TCG needs about two.
const kvmProbeTimeout = 4 * time.Second

// accelChoice memoises the probe for the process: whether KVM works is a
// fact about the host, not configuration. The result is also kept in the
// cache directory, keyed by what it depends on.
var accelChoice struct {
	once sync.Once
	kind string
}

// Accel returns the accelerator for QEMU: $SLKIT_ACCEL when set; else
// "kvm" when /dev/kvm opens read-write and a probe boot of kernel under KVM
// gets as far as the kernel banner (on some hosts /dev/kvm exists but
// guests hang after the real-mode setup, or fail with "internal error
// Suberror 1"); else "tcg". An empty kernel means the cached kernel; with
// none, the answer is "tcg".
func Accel(kernel string) string {
	if a := os.Getenv(EnvAccel); a != "" {
		return a
	}
	accelChoice.once.Do(func() { accelChoice.kind = probeAccel(kernel) })
	return accelChoice.kind
}

type accelCache struct {
	Key   string `json:"key"`
	Accel string `json:"accel"`
}

func probeAccel(kernel string) string {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg"
	}
	f.Close()
	if kernel == "" {
		k, err := CachedKernel()
		if err != nil {
			return "tcg"
		}
		kernel = k.Path
	}
	key, err := accelKey(kernel)
	if err != nil {
		return "tcg"
	}
	cacheFile := ""
	if d, err := CacheDir(); err == nil {
		cacheFile = filepath.Join(d, "accel-probe.json")
		var c accelCache
		if b, err := os.ReadFile(cacheFile); err == nil && json.Unmarshal(b, &c) == nil && c.Key == key {
			return c.Accel
		}
	}
	kind := "tcg"
	if kvmBoots(kernel) {
		kind = "kvm"
	}
	if cacheFile != "" {
		if b, err := json.Marshal(accelCache{Key: key, Accel: kind}); err == nil {
			_ = fsys.WriteFile(fsys.OS{}, cacheFile, b, 0o644)
		}
	}
	return kind
}

// accelKey names what the probe result depends on: the host kernel, the
// QEMU binary and the probe kernel.
func accelKey(kernel string) (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", err
	}
	parts := []string{unix.ByteSliceToString(u.Release[:])}
	for _, p := range []string{bin, kernel} {
		st, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s:%d:%d", p, st.Size(), st.ModTime().Unix()))
	}
	return strings.Join(parts, " "), nil
}

// kvmBoots boots kernel under KVM with an early console and reports
// whether its banner appears in time. The probe QEMU is ended by PID.
func kvmBoots(kernel string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), kvmProbeTimeout)
	defer cancel()
	cmd := exec.Command("qemu-system-x86_64", "-accel", "kvm", "-m", "256", "-smp", "1",
		"-display", "none", "-monitor", "none", "-nodefaults", "-vga", "none",
		"-serial", "stdio", "-no-reboot", "-kernel", kernel,
		"-append", "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 quiet")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false
	}
	if err := cmd.Start(); err != nil {
		return false
	}
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Linux version") {
				found <- true
				return
			}
		}
		found <- false
	}()
	ok := false
	select {
	case ok = <-found:
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return ok
}
