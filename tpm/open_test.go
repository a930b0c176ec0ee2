package tpm_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestOpenSwtpmTCP opens swtpm by "swtpm:tcp:HOST:PORT" and uses its
// control channel at PORT+1 to change the locality: a PCR18 extend fails at
// locality 0 and succeeds at locality 2.
func TestOpenSwtpmTCP(t *testing.T) {
	port := 0
	for p := 41000; p < 42000; p += 2 {
		a, err1 := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		b, err2 := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if a != nil {
			a.Close()
		}
		if b != nil {
			b.Close()
		}
		if err1 == nil && err2 == nil {
			port = p
			break
		}
	}
	s, err := swtpm.Start(context.Background(), filepath.Join(t.TempDir(), "tpm"), swtpm.WithTCPPorts(port))
	if err != nil {
		tpmtest.SkipOrFatal(t, err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := tpm.Open(fmt.Sprintf("swtpm:tcp:127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	banks, err := tpm.ActiveBanks(c)
	if err != nil || len(banks) == 0 {
		t.Fatalf("banks %v: %v", banks, err)
	}
	if _, err := tpm.ExtendData(c, 18, banks, strings.NewReader("x")); !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("PCR18 extend at locality 0: %v", err)
	}
	ctl, err := swtpm.DialCtrl("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	if err := ctl.SetLocality(2); err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ExtendData(c, 18, banks, strings.NewReader("x")); err != nil {
		t.Fatalf("PCR18 extend at locality 2: %v", err)
	}
}

func TestOpenBadSpecs(t *testing.T) {
	for _, s := range []string{"bogus", "swtpm:tcp:nohost", "swtpm:tcp:h:0", "swtpm:unix:", "swtpm:unix:/x,ctrl=/y", "swtpm:udp:x"} {
		if _, err := tpm.Open(s); !errors.Is(err, tpm.ErrSpec) {
			t.Errorf("%q: %v, want ErrSpec", s, err)
		}
	}
	if _, err := tpm.Open("swtpm:unix:/nonexistent/sock"); !errors.Is(err, tpm.ErrOpen) {
		t.Errorf("missing socket: %v, want ErrOpen", err)
	}
}
