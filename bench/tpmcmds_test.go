package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/tpm"
)

// countingProxy forwards swtpm's TCP data channel (and passes its control
// channel through) and counts the TPM commands that cross it.
type countingProxy struct {
	port     int
	commands atomic.Int64
	lns      []net.Listener
	wg       sync.WaitGroup
}

func freePortPair(b *testing.B) int {
	for p := 23000 + os.Getpid()%2000*2; p < 60000; p += 2 {
		l1, err1 := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		l2, err2 := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if l1 != nil {
			l1.Close()
		}
		if l2 != nil {
			l2.Close()
		}
		if err1 == nil && err2 == nil {
			return p
		}
	}
	b.Fatal("no free port pair")
	return 0
}

func startProxy(b *testing.B, target int) *countingProxy {
	p := &countingProxy{port: freePortPair(b)}
	for i, count := range []bool{true, false} {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.port+i))
		if err != nil {
			b.Fatal(err)
		}
		p.lns = append(p.lns, ln)
		dst := fmt.Sprintf("127.0.0.1:%d", target+i)
		p.wg.Add(1)
		go func(count bool) {
			defer p.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go p.pipe(c, dst, count)
			}
		}(count)
	}
	b.Cleanup(func() {
		for _, l := range p.lns {
			l.Close()
		}
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) pipe(c net.Conn, dst string, count bool) {
	defer c.Close()
	d, err := net.Dial("tcp", dst)
	if err != nil {
		return
	}
	defer d.Close()
	go io.Copy(c, d)
	if !count {
		io.Copy(d, c)
		return
	}
	// Frame commands by their header (tag u16, size u32).
	for {
		hdr := make([]byte, 10)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[2:6])
		body := make([]byte, int(n)-10)
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		p.commands.Add(1)
		if _, err := d.Write(append(hdr, body...)); err != nil {
			return
		}
	}
}

// BenchmarkTPMCommandsPerOperation counts TPM commands (and times whole
// operations) for one PCR extend of all banks and one unseal with a
// persistent SRK, with slkit and with tpm2-tools, on the same swtpm.
func BenchmarkTPMCommandsPerOperation(b *testing.B) {
	for _, p := range []string{"swtpm", "tpm2_unseal"} {
		if _, err := exec.LookPath(p); err != nil {
			b.Skipf("%s not installed: run make deps", p)
		}
	}
	dir := b.TempDir()
	port := freePortPair(b)
	sw, err := swtpm.Start(context.Background(), filepath.Join(dir, "tpm"), swtpm.WithTCPPorts(port))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sw.Close() })
	px := startProxy(b, port)
	spec := fmt.Sprintf("swtpm:tcp:127.0.0.1:%d", px.port)
	tcti := fmt.Sprintf("swtpm:host=127.0.0.1,port=%d", px.port)

	t, err := tpm.Open(spec)
	if err != nil {
		b.Fatal(err)
	}
	srk, err := tpm.ProvisionSRK(t)
	if err != nil {
		b.Fatal(err)
	}
	banks, _ := tpm.ActiveBanks(t)
	pol, _ := tpm.CurrentPolicy(t, tpm.SHA256, []int{7})
	sealed, err := tpm.Seal(t, []byte("benchmark secret"), pol)
	if err != nil {
		b.Fatal(err)
	}
	ds, _ := tpm.HashBytes(banks, []byte("event"))
	// swtpm serves one data connection at a time: slkit opens its TPM per
	// operation, as a command would, and tpm2-tools gets its turn.
	t.Close()

	tools := func(args ...string) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+tcti)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	// tpm2-tools set-up (not counted): a sealed object under the same SRK
	// with the same PolicyPCR.
	os.WriteFile(filepath.Join(dir, "secret"), []byte("benchmark secret"), 0o600)
	tools("tpm2_createpolicy", "--policy-pcr", "-l", "sha256:7", "-L", "pcr.policy")
	tools("tpm2_create", "-C", fmt.Sprintf("%#x", uint32(srk.Handle)), "-L", "pcr.policy", "-i", "secret", "-u", "s.pub", "-r", "s.priv")
	hexs := make([]string, 0, len(banks))
	for _, a := range banks {
		hexs = append(hexs, a.String()+"="+ds[a].String())
	}
	toolsUnseal := func() {
		tools("tpm2_load", "-C", fmt.Sprintf("%#x", uint32(srk.Handle)), "-u", "s.pub", "-r", "s.priv", "-c", "s.ctx")
		tools("tpm2_startauthsession", "--policy-session", "-S", "sess.ctx", "-c", fmt.Sprintf("%#x", uint32(srk.Handle)))
		tools("tpm2_sessionconfig", "sess.ctx", "--enable-encrypt")
		tools("tpm2_policypcr", "-S", "sess.ctx", "-l", "sha256:7")
		tools("tpm2_unseal", "-c", "s.ctx", "-p", "session:sess.ctx", "-o", "out")
		tools("tpm2_flushcontext", "-t") // no resource manager: flush the loaded object
		tools("tpm2_flushcontext", "-s") // and the session
	}
	measure := func(name string, op func()) {
		b.Run(name, func(b *testing.B) {
			var n int64
			for b.Loop() {
				before := px.commands.Load()
				op()
				n = px.commands.Load() - before
			}
			b.ReportMetric(float64(n), "tpm-cmds/op")
		})
	}
	withTPM := func(f func(*tpm.Conn) error) {
		c, err := tpm.Open(spec)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := f(c); err != nil {
			b.Fatal(err)
		}
	}
	measure("op=extend/impl=slkit", func() {
		withTPM(func(c *tpm.Conn) error { return tpm.Extend(c, 16, ds) })
	})
	measure("op=extend/impl=tpm2-tools", func() { tools("tpm2_pcrextend", "16:"+strings.Join(hexs, ",")) })
	measure("op=unseal/impl=slkit", func() {
		withTPM(func(c *tpm.Conn) error { _, err := tpm.Unseal(c, sealed); return err })
	})
	measure("op=unseal/impl=tpm2-tools", toolsUnseal)
}
