package launch

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
)

func reportEvents() []tpm.Event {
	return []tpm.Event{{Index: 1, PCR: 8, Type: 0xD, Digests: tpm.Digests{tpm.SHA1: make([]byte, 20), tpm.SHA256: bytes.Repeat([]byte{0xab}, 32)}, Data: []byte("kernel")}}
}

// TestMeasureReport: the JSON shape of `measure --json` and the text, with
// the summary line only for a complete measurement.
func TestMeasureReport(t *testing.T) {
	m := &Measurement{Banks: []tpm.Alg{tpm.SHA1, tpm.SHA256}, Events: reportEvents(), LogPath: "/run/log",
		Log: &tpm.EventLog{Events: make([]tpm.Event, 5)}}
	b, _ := json.Marshal(m.Report())
	var got map[string]any
	json.Unmarshal(b, &got)
	if got["log"] != "/run/log" || got["log_events"] != 5.0 || len(got["events"].([]any)) != 1 || len(got["banks"].([]any)) != 2 {
		t.Errorf("report %s", b)
	}
	partial := m.Text(false)
	if strings.Count(partial, "\n") != 1 || !strings.Contains(partial, "sha256 abababab") || strings.Contains(partial, "extended") {
		t.Errorf("partial: %q", partial)
	}
	if got := strings.TrimPrefix(m.Text(true), partial); got != "extended 1 events in banks sha1,sha256; event log /run/log (5 events)\n" {
		t.Errorf("summary: %q", got)
	}
}

// TestDryRunReport: entry, images, the DRTM log handed over and the
// fallback on one line each way.
func TestDryRunReport(t *testing.T) {
	r := &Result{Entry: &policy.Entry{Name: "post", Kernel: policy.Image{Path: "/k"}, Initrd: &policy.Image{Path: "/i"}, Cmdline: "quiet"},
		Measurement: &Measurement{Events: reportEvents(), LogPath: "/run/log"},
		DRTM:        []HandoverFile{{Path: DRTMTargetLogPath, Data: make([]byte, 300)}}}
	want := `dry run: entry "post" measured (1 events, log /run/log); DRTM happened and verified (DRTM log, 300 bytes, for ` + DRTMTargetLogPath +
		`); would kexec kernel /k, initrd /i + event log at /slkit/prelaunch-eventlog.bin, cmdline "quiet"` + "\n"
	if got := r.DryRunText(); got != want {
		t.Errorf("text:\n%s\nwant\n%s", got, want)
	}
	b, _ := json.Marshal(r.DryRunReport())
	if want := `{"entry":"post","events":[`; !strings.HasPrefix(string(b), want) || !strings.Contains(string(b), `"kernel":"/k","initrd":"/i","drtm_handover":["`+DRTMTargetLogPath+`"],"cmdline":"quiet"}`) {
		t.Errorf("report %s", b)
	}
	r.Entry.Initrd, r.DRTM, r.DRTMFallback = nil, nil, errors.New("no host\n  channel")
	if got := r.DryRunText(); !strings.Contains(got, "(1 events, log /run/log); would kexec kernel /k, initrd none, cmdline") {
		t.Errorf("text without DRTM: %s", got)
	}
	if rep := r.DryRunReport(); rep.DRTMFallback != "no host channel" || rep.Initrd != "" || rep.Handover != nil {
		t.Errorf("report without DRTM: %+v", rep)
	}
}

// TestOpenEntry: the images are opened for reading as they are on disk;
// a FIFO or a missing file is an input error naming it, a bad command
// line ErrEntry; done closes the files.
func TestOpenEntry(t *testing.T) {
	dir := t.TempDir()
	k, i, fifo := filepath.Join(dir, "k"), filepath.Join(dir, "i"), filepath.Join(dir, "fifo")
	os.WriteFile(k, []byte("kernel bytes"), 0o600)
	os.WriteFile(i, []byte("initrd"), 0o600)
	syscall.Mkfifo(fifo, 0o600)
	e, done, err := OpenEntry(EntryFiles{Kernel: k, Initrd: i, Cmdline: "c", Policy: []byte("signed")})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, e.Kernel.Size)
	if _, err := e.Kernel.R.ReadAt(buf, 0); err != nil || string(buf) != "kernel bytes" || e.Initrd.Size != 6 || e.Initrd.Name != i || string(e.Policy) != "signed" {
		t.Fatalf("entry %+v: %q %v", e, buf, err)
	}
	done()
	if _, err := e.Kernel.R.ReadAt(buf, 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("after done: %v", err)
	}
	for _, c := range []struct {
		ef   EntryFiles
		want string
	}{
		{EntryFiles{Kernel: fifo}, fifo + ": not a regular file (a FIFO)"},
		{EntryFiles{Kernel: k, Initrd: filepath.Join(dir, "none")}, filepath.Join(dir, "none") + ": no such file or directory"},
	} {
		var ie *fsys.InputError
		if _, _, err := OpenEntry(c.ef); !errors.As(err, &ie) || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.ef, err, c.want)
		}
	}
	if _, _, err := OpenEntry(EntryFiles{Kernel: k, Cmdline: "a\x00b"}); !errors.Is(err, ErrEntry) {
		t.Errorf("NUL in the command line: %v", err)
	}
}
