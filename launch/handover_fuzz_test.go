package launch

import (
	"bytes"
	"path"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

// FuzzHandoverPath: whatever path a hand-over file is given, the archive
// either is refused or holds only entries under slkit/, each a clean
// relative name without a ".." element, and the file's own record at
// exactly the path given.
func FuzzHandoverPath(f *testing.F) {
	for _, s := range []string{"/slkit/x.sealed", "/slkit/a/b", "/init", "/slkit/../init", "/slkit//x", "/slkit/.", "slkit/x",
		"/slkit/prelaunch-eventlog.bin", "/slkit/x/", "/slkitx", "/slkit/\x00", "/slkit/a/../../etc/passwd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if len(p) > 4096 {
			return
		}
		a, err := HandoverCpio([]byte("log"), HandoverFile{Path: p, Data: []byte("data")})
		if err != nil {
			if CheckHandoverPath(p) == nil && p != TargetLogPath {
				t.Fatalf("%q passes CheckHandoverPath but the archive is refused: %v", p, err)
			}
			return
		}
		if CheckHandoverPath(p) != nil {
			t.Fatalf("%q was archived but fails CheckHandoverPath", p)
		}
		recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(a)))
		if err != nil {
			t.Fatalf("%q: the archive does not read back: %v", p, err)
		}
		found := false
		for _, r := range recs {
			if !strings.HasPrefix(r.Name+"/", "slkit/") || path.Clean(r.Name) != r.Name || path.IsAbs(r.Name) ||
				strings.Contains("/"+r.Name+"/", "/../") {
				t.Fatalf("%q: archive entry %q outside slkit/", p, r.Name)
			}
			found = found || "/"+r.Name == p
		}
		if !found {
			t.Fatalf("%q: no record at that path", p)
		}
	})
}
