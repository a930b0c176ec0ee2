package sockdir_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/sockdir"
)

// TestFor: a short directory is used as is; a long one is replaced by a
// directory in which the kernel really accepts the socket, and remove
// deletes it.
func TestFor(t *testing.T) {
	short := t.TempDir()
	if d, remove, err := sockdir.For(short, "x.sock"); err != nil || d != short {
		t.Fatalf("short dir: %q, %v", d, err)
	} else {
		remove()
		if _, err := os.Stat(short); err != nil {
			t.Fatalf("remove deleted the caller's directory: %v", err)
		}
	}
	long := short + "/" + strings.Repeat("d", 100)
	if err := os.MkdirAll(long, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Listen("unix", filepath.Join(long, "x.sock")); err == nil {
		t.Fatal("the kernel accepted an over-long socket path: the test proves nothing")
	}
	d, remove, err := sockdir.For(long, "x.sock")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(d, "x.sock"))
	if err != nil {
		t.Fatalf("socket in %s: %v", d, err)
	}
	ln.Close()
	remove()
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("%s left after remove: %v", d, err)
	}
}
