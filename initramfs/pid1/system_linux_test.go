package pid1

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
)

// TestMain lets the test binary play the run command: Run executes
// /proc/self/exe, which in a test is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "child" {
		fmt.Fprintf(os.Stderr, "slkit: phase=x t=0s\nslkit: child failed, env %d vars, PATH=%s\n", len(os.Environ()), os.Getenv("PATH"))
		if os.Args[2] == "kill" {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		code, _ := strconv.Atoi(os.Args[2])
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func TestLinuxRun(t *testing.T) {
	t.Setenv("SLKIT_TPM", "swtpm:unix:/evil")
	sys := NewSystem()
	var stderr bytes.Buffer
	el := &errLine{w: &stderr}
	exit, err := sys.Run([]string{"slkit", "child", "3"}, el)
	if err != nil {
		t.Fatal(err)
	}
	if exit != (Exit{Code: 3}) || exit.String() != "exited with status 3" {
		t.Errorf("exit %+v", exit)
	}
	// The child sees only the fixed environment.
	if want := "child failed, env 4 vars, PATH=/bbin:/bin:/ubin:/usr/bin:/sbin:/usr/sbin"; el.Last() != want {
		t.Errorf("last error line %q, want %q", el.Last(), want)
	}
	exit, err = sys.Run([]string{"slkit", "child", "kill"}, &stderr)
	if err != nil || exit.OK() || exit.Signal != "SIGKILL" {
		t.Errorf("killed child: %+v, %v", exit, err)
	}
	exit, err = sys.Run([]string{"slkit", "child", "0"}, &stderr)
	if err != nil || !exit.OK() {
		t.Errorf("ok child: %+v, %v", exit, err)
	}
}

func TestLinuxStdioAndFiles(t *testing.T) {
	sys := NewSystem()
	// All three are open in a test: nothing to do, and the console is
	// never opened (a missing path proves it).
	if err := sys.Stdio("/nonexistent/console"); err != nil {
		t.Error(err)
	}
	if sys.Uptime() <= 0 {
		t.Error("uptime is not positive")
	}
	if !sys.Exists("/proc/self") || sys.Exists("/nonexistent") {
		t.Error("Exists")
	}
	if b, err := sys.ReadFile("/proc/self/mounts"); err != nil || !parseMounts(b)["/proc"] {
		t.Errorf("/proc/self/mounts: %v", err)
	}
}
