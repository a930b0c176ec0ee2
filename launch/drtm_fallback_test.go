package launch

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestLaunchDRTMFailsClosed: every way the emulated DRTM can fail to
// happen, for the entry that requires DRTM and for the one that does not.
// The first is always refused ("DRTM did not happen", ErrDRTMUnavailable,
// nothing loaded). The second falls back to the measured launch only when
// the dynamic launch never started — with a warning, Result.DRTMFallback,
// no DRTM log handed over, and PCR 17 still at its reset value 0xFF… —
// and is refused like the first for every failure after the DCE event (the
// _TPM_Hash sequence ran). A host that hashes something else, or nothing,
// is caught by VerifyDRTM (what happened, not what was asked).
func TestLaunchDRTMFailsClosed(t *testing.T) {
	f := newDRTMFixture(t)
	for _, tc := range []struct {
		name       string
		noHC       bool
		host       func(*slaunchtest.Host)
		notStarted bool
		want       string
	}{
		{name: "no host channel", noHC: true, notStarted: true, want: "no host channel to the emulated DCE: open /dev/ttyS1: no such device"},
		{name: "host refuses the hash", host: func(h *slaunchtest.Host) { h.RefuseHash = true }, notStarted: true, want: "did not run the _TPM_Hash sequence"},
		{name: "host hashes then fails", host: func(h *slaunchtest.Host) { h.FailAfterHash = true }, want: "connection reset after HASH_END"},
		{name: "host refuses the locality", host: func(h *slaunchtest.Host) { h.RefuseLocality = true }, want: "tpm-locality: refused"},
		{name: "host ignores the locality", host: func(h *slaunchtest.Host) { h.IgnoreLocality = true }, want: "refused the post-launch extends"},
		{name: "host hashes another DCE", host: func(h *slaunchtest.Host) { h.HashInstead = []byte("another DCE") }, want: "does not replay to the TPM"},
	} {
		for _, entry := range []string{"drtm", "plain"} {
			t.Run(tc.name+"/"+entry, func(t *testing.T) {
				tt := tpmtest.RequireSwtpm(t)
				ctl, err := tt.Control()
				if err != nil {
					t.Fatal(err)
				}
				h := &slaunchtest.Host{TPM: ctl}
				if tc.host != nil {
					tc.host(h)
				}
				open := pipeHost(t, h)
				if tc.noHC {
					open = func() (slaunch.DCEHost, io.Closer, error) {
						return nil, nil, errors.New("open /dev/ttyS1: no such device")
					}
				}
				k := &recKexec{}
				var warnings []string
				res, err := Launch(tt, f.signed, f.pub, WithFS(f.fsys), WithKexec(k), WithEntry(entry),
					WithLaunchLog(filepath.Join(t.TempDir(), "l")), WithWarnings(func(m string) { warnings = append(warnings, m) }),
					WithDRTM(EmulatedDRTM(open)))
				if entry == "plain" && tc.notStarted {
					if err != nil || !k.executed || len(warnings) != 1 || !strings.Contains(warnings[0], `entry "plain": DRTM did not happen`) ||
						!strings.Contains(warnings[0], tc.want) || !strings.Contains(warnings[0], "launching it as a measured launch") ||
						!errors.Is(res.DRTMFallback, slaunch.ErrNoDRTM) || len(res.DRTM) != 0 {
						t.Fatalf("err %v, executed %v, warnings %q; want a fallback naming %q", err, k.executed, warnings, tc.want)
					}
					files := handedOver(t, k.loaded.Initrd, len(f.initrd))
					if _, ok := files[DRTMTargetLogPath]; ok || files[TargetLogPath] == nil {
						t.Fatalf("handed over %d files, with a DRTM log: %v", len(files), ok)
					}
					banks, _ := tpm.ActiveBanks(tt)
					for _, a := range banks {
						if v := pcr(t, tt, a, 17); !v.Equal(tpm.OnesDigest(a)) {
							t.Errorf("%s PCR 17 is %s after a fallback: the dynamic launch did start", a, v)
						}
					}
					return
				}
				if !errors.Is(err, slaunch.ErrNoDRTM) || !strings.Contains(err.Error(), "DRTM did not happen") || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want ErrNoDRTM with %q", err, tc.want)
				}
				if errors.Is(err, ErrDRTMUnavailable) != (entry == "drtm") {
					t.Errorf("ErrDRTMUnavailable %v for entry %s: %v", errors.Is(err, ErrDRTMUnavailable), entry, err)
				}
				if k.loaded != nil || k.executed || len(warnings) != 0 {
					t.Fatalf("loaded %v, executed %v, warnings %q although DRTM did not happen", k.loaded != nil, k.executed, warnings)
				}
			})
		}
	}
}
