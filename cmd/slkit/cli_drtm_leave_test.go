package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestDRTMLeaveCLI: after `launch --drtm emulated`, a secret forward-sealed
// to the launch's PCR 17+18 unseals; `drtm leave` extends both, writes the
// log with the leave events to --out (the handed-over log stays as it
// was) and tells the host; then `unseal --eventlog` of that log is refused
// naming PCR 17 and the leave event (exit 3). Leaving again outside a
// launch is a TPM refusal (exit 2); a malformed or oversized log is an
// input error naming the file (exit 1) and extends nothing.
func TestDRTMLeaveCLI(t *testing.T) {
	d := newDRTMOnSwtpm(t)
	tt, f, sock, h := d.tt, d.f, d.sock, d.host
	secret := writeDRTMFile(t, f.dir, "secret", []byte("sealed to the launch"))
	sealed := filepath.Join(f.dir, "s.sealed")
	if r := runSlkit(t, tt, "seal", "--pcrs", "17,18", "--pcr-values", d.pred, "--in", secret, "--out", sealed); r.code != 0 {
		t.Fatalf("seal: %d %s", r.code, r.stderr)
	}
	handed := d.launch(t)
	orig := mustRead(t, handed)
	if r := runSlkit(t, tt, "unseal", sealed, "--fingerprint"); r.code != 0 {
		t.Fatalf("unseal in the launch: %d %s", r.code, r.stderr)
	}

	out := filepath.Join(f.dir, "left", "drtm-eventlog.bin")
	r := runSlkit(t, tt, "drtm", "leave", "--log", handed, "--out", out, "--host-channel", sock)
	if r.code != 0 || !strings.Contains(r.stdout, `left the dynamic launch: PCR 17 and 18 extended with "slkit: leave dynamic launch" (banks sha1,sha256,sha384,sha512)`) {
		t.Fatalf("leave: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if h.Leaves() != 1 {
		t.Errorf("the host saw %d leaves", h.Leaves())
	}
	if string(mustRead(t, handed)) != string(orig) {
		t.Error("the handed-over log was changed")
	}
	l, err := tpm.ParseEventLog(mustRead(t, out))
	if err != nil || len(l.Events) != 8 {
		t.Fatalf("the log with the leave events: %v", err)
	}
	r = runSlkit(t, tt, "unseal", sealed, "--fingerprint", "--eventlog", out)
	refusal := regexp.MustCompile(`unseal refused: PCR 17: extra event 7 "slkit: leave dynamic launch" in the current log \(sha256 [0-9a-f]{8}…\); PCR 18: extra event 8 "slkit: leave dynamic launch"`)
	if r.code != 3 || !refusal.MatchString(r.stderr) || r.stdout != "" {
		t.Fatalf("unseal after the leave: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runSlkit(t, tt, "drtm", "verify", "--log", out); r.code != 0 {
		t.Errorf("drtm verify of the log with the leave events: %d %s", r.code, r.stderr)
	}

	r = runSlkit(t, tt, "drtm", "leave", "--log", out, "--out", filepath.Join(f.dir, "again.bin"), "--host-channel", sock)
	if r.code != 2 || !strings.Contains(r.stderr, "extend PCR 17 with the leave event") || !strings.Contains(r.stderr, "TPM_RC_LOCALITY") {
		t.Fatalf("leave outside a launch: %d %q", r.code, r.stderr)
	}
	big := filepath.Join(f.dir, "big.bin")
	if err := os.WriteFile(big, make([]byte, slaunch.MaxLeaveLogSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{writeDRTMFile(t, f.dir, "garbage.bin", []byte("garbage")), "garbage.bin: malformed image: the launch's DRTM log"},
		{big, "big.bin: DRTM log too large: more than 1048576 bytes"},
		{filepath.Join(f.dir, "missing.bin"), "missing.bin: no such file or directory"},
	} {
		r := runSlkit(t, tt, "drtm", "leave", "--log", tc.file, "--host-channel", sock)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("leave --log %s: %d %q, want exit 1 naming %q", tc.file, r.code, r.stderr, tc.want)
		}
	}
}

// drtmOnSwtpm is a swtpm with a rig host on a socket (slaunchtest.Host),
// the launch files of writeDRTMLaunch, and `predict --drtm emulated --json`
// of its "drtm" entry in pred.
type drtmOnSwtpm struct {
	tt   *tpmtest.TPM
	f    *drtmLaunchFiles
	sock string
	host *slaunchtest.Host
	pred string
}

func newDRTMOnSwtpm(t *testing.T) *drtmOnSwtpm {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	d := &drtmOnSwtpm{tt: tpmtest.RequireSwtpm(t), f: writeDRTMLaunch(t)}
	ctl, err := d.tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	d.sock = filepath.Join(d.f.dir, "host.sock")
	d.host = &slaunchtest.Host{TPM: ctl}
	d.host.Listen(t, d.sock)
	r := runSlkit(t, nil, "predict", "--drtm", "emulated", "--json", "--kernel", filepath.Join(d.f.root, "boot", "vmlinuz"),
		"--initrd", filepath.Join(d.f.root, "boot", "initrd.img"), "--cmdline", "console=ttyS0", "--policy", d.f.signed)
	if r.code != 0 {
		t.Fatalf("predict: %d %s", r.code, r.stderr)
	}
	d.pred = writeDRTMFile(t, d.f.dir, "pred.json", []byte(r.stdout))
	return d
}

// launch runs `launch --drtm emulated` (dry run) of the "drtm" entry and
// returns the DRTM log it keeps (as it hands it over).
func (d *drtmOnSwtpm) launch(t *testing.T) string {
	t.Helper()
	log := filepath.Join(d.f.dir, "run", "prelaunch.bin")
	if r := d.f.launch(t, d.tt, log, "--drtm", "emulated", "--host-channel", d.sock); r.code != 0 {
		t.Fatalf("launch: %d %s", r.code, r.stderr)
	}
	return filepath.Join(d.f.dir, "run", "drtm-eventlog.bin")
}
