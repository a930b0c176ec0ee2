// Command hashbaseline is the hashing limit of BenchmarkLaunchVsKexec: an
// /init that only reads the files `slkit launch` measures (the signed
// policy at /etc/slkit/policy.json, /boot/vmlinuz, /boot/target.cpio, the
// command line in /boot/cmdline) and hashes them in the four banks the
// launch extends (SHA-1, SHA-256, SHA-384, SHA-512) with the standard
// library: each file read once in 1 MiB chunks, every chunk hashed in the
// four banks in parallel (a goroutine per bank), so that a guest with more
// than one vCPU hashes the banks in parallel and the chunk stays in the
// cache. Nothing else: no policy check, no
// TPM, no event log, no kexec. It prints the rig's phase markers (`slkit:
// phase=run` before reading, `slkit: phase=hashed` after the last digest)
// and its result, and powers off.
package main

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/rig/e2e/internal/guestphase"
)

var files = []string{"/etc/slkit/policy.json", "/boot/vmlinuz", "/boot/target.cpio", "/boot/cmdline"}

var banks = []func() hash.Hash{sha1.New, sha256.New, sha512.New384, sha512.New}

func main() {
	guestphase.Enter("init")
	guestphase.Enter("run")
	n, err := hashAll()
	guestphase.Enter("hashed")
	if err != nil {
		fmt.Printf("slkit: result=fail reason=hash baseline: %v\n", err)
	} else {
		fmt.Printf("hashed %d bytes in %d banks\nslkit: result=ok\n", n, len(banks))
	}
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

func hashAll() (int, error) {
	hs := make([]hash.Hash, len(banks))
	buf := make([]byte, 1<<20)
	total := 0
	for _, name := range files {
		for i, nh := range banks {
			hs[i] = nh()
		}
		f, err := os.Open(name)
		if err != nil {
			return total, err
		}
		for {
			n, err := io.ReadFull(f, buf)
			total += n
			var wg sync.WaitGroup
			for _, h := range hs {
				wg.Add(1)
				go func(h hash.Hash) { defer wg.Done(); h.Write(buf[:n]) }(h)
			}
			wg.Wait()
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				f.Close()
				return total, err
			}
		}
		f.Close()
		for _, h := range hs {
			h.Sum(nil)
		}
	}
	return total, nil
}
