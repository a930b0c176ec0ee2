package swtpm_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

func startSwtpm(t *testing.T, dir string, opts ...swtpm.Option) *swtpm.Process {
	t.Helper()
	s, err := swtpm.Start(context.Background(), dir, opts...)
	if err != nil {
		if errors.Is(err, swtpm.ErrNotInstalled) {
			tpmtest.SkipOrFatal(t, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (PID %d) still running", what, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// primaryName creates the ECC SRK-template primary in the owner hierarchy
// and returns its name: a function of the TPM's owner seed, so equal names
// mean the same TPM state.
func primaryName(t *testing.T, s *swtpm.Process) string {
	t.Helper()
	c, err := tpm.Open(s.Spec())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}).Execute(c); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", rsp.Name.Buffer)
}

// TestSwtpmCloseByPID: Close ends the process it started (and only that
// one), is idempotent, and Exited reports it.
func TestSwtpmCloseByPID(t *testing.T) {
	s := startSwtpm(t, filepath.Join(t.TempDir(), "tpm"), swtpm.WithDataSocket())
	other := startSwtpm(t, filepath.Join(t.TempDir(), "tpm"), swtpm.WithDataSocket())
	if !alive(s.PID()) {
		t.Fatal("swtpm not running after StartSwtpm")
	}
	s.Close()
	select {
	case <-s.Exited():
	default:
		t.Fatal("Exited not closed after Close")
	}
	waitGone(t, s.PID(), "swtpm")
	if !alive(other.PID()) {
		t.Fatal("Close ended another swtpm")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestSwtpmStateReuse: a restart on the same state directory is the same
// TPM (same owner seed: same primary key); a fresh directory is another.
func TestSwtpmStateReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tpm")
	s := startSwtpm(t, dir, swtpm.WithDataSocket())
	first := primaryName(t, s)
	s.Close()
	s2 := startSwtpm(t, dir, swtpm.WithDataSocket())
	if again := primaryName(t, s2); again != first {
		t.Fatalf("after a restart on the same state: primary %s, want %s", again, first)
	}
	s3 := startSwtpm(t, filepath.Join(t.TempDir(), "tpm"), swtpm.WithDataSocket())
	if other := primaryName(t, s3); other == first {
		t.Fatal("a fresh state directory gave the same primary key")
	}
}

// TestSwtpmDiesWithItsParent: when the process that started swtpm dies
// without cleaning up (a test binary killed by go test's -timeout), swtpm
// is killed too (Pdeathsig).
func TestSwtpmDiesWithItsParent(t *testing.T) {
	if dir := os.Getenv("SLKIT_TEST_SWTPM_CHILD"); dir != "" {
		s, err := swtpm.Start(context.Background(), dir)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("pid", s.PID())
		select {} // until killed
	}
	if _, err := exec.LookPath("swtpm"); err != nil {
		tpmtest.SkipOrFatal(t, err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestSwtpmDiesWithItsParent$")
	child.Env = append(os.Environ(), "SLKIT_TEST_SWTPM_CHILD="+filepath.Join(t.TempDir(), "tpm"))
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil {
		t.Fatalf("child said %q", line)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // only if the test fails
	if !alive(pid) {
		t.Fatalf("swtpm %d not running", pid)
	}
	child.Process.Kill()
	child.Wait()
	waitGone(t, pid, "swtpm of a killed parent")
}

// TestStartLongStateDir: a state directory whose path leaves no room for a
// unix socket name (sun_path holds 107 bytes) still gets a working TPM; the
// sockets go to a short directory that Close removes.
func TestStartLongStateDir(t *testing.T) {
	dir := t.TempDir()
	for len(dir) < 110 {
		dir = filepath.Join(dir, "a-rather-long-directory-name")
	}
	s := startSwtpm(t, dir, swtpm.WithDataSocket())
	if len(s.CtrlPath) > 107 || len(s.DataPath) > 107 {
		t.Fatalf("socket paths too long: %q, %q", s.CtrlPath, s.DataPath)
	}
	if filepath.Dir(s.CtrlPath) == dir {
		t.Fatalf("sockets in the long state dir %s", dir)
	}
	if primaryName(t, s) == "" {
		t.Fatal("no SRK name from the TPM behind the short socket")
	}
	if _, err := os.Stat(filepath.Join(dir, "tpm2-00.permall")); err != nil {
		t.Errorf("state not in the state directory: %v", err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Dir(s.CtrlPath)); !os.IsNotExist(err) {
		t.Errorf("socket directory %s left after Close: %v", filepath.Dir(s.CtrlPath), err)
	}
}
