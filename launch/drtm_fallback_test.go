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

// misbehavingHost wraps a host channel client: it can run the _TPM_Hash
// sequence and then report a failure, or refuse the locality change.
type misbehavingHost struct {
	slaunch.DCEHost
	failAfterHash bool
	refuseLoc     bool
}

func (h misbehavingHost) TPMHash(blob []byte) error {
	if err := h.DCEHost.TPMHash(blob); err != nil || !h.failAfterHash {
		return err
	}
	return errors.New("tpm-hash: connection reset after HASH_END")
}

func (h misbehavingHost) TPMLocality(loc uint8) error {
	if h.refuseLoc {
		return errors.New("tpm-locality: refused")
	}
	return h.DCEHost.TPMLocality(loc)
}

// TestLaunchDRTMFallbackOnlyBeforeDCE: for an entry without require_drtm,
// only a dynamic launch that never started falls back to the measured
// launch (with a warning, and PCR 17 still at its reset value 0xFF…).
// Every failure after the DCE event — the _TPM_Hash sequence ran — is
// fatal: nothing is loaded, nothing is booted, no warning.
func TestLaunchDRTMFallbackOnlyBeforeDCE(t *testing.T) {
	f := newDRTMFixture(t)
	for _, tc := range []struct {
		name     string
		noHC     bool
		host     func(*slaunchtest.Host)
		wrap     func(slaunch.DCEHost) slaunch.DCEHost
		fallback bool
		want     string
	}{
		{name: "no host channel", noHC: true, fallback: true, want: "no host channel"},
		{name: "host refuses the hash", host: func(h *slaunchtest.Host) { h.RefuseHash = true }, fallback: true, want: "did not run the _TPM_Hash sequence"},
		{name: "host hashes then reports a failure", wrap: func(d slaunch.DCEHost) slaunch.DCEHost { return misbehavingHost{DCEHost: d, failAfterHash: true} },
			want: "connection reset after HASH_END"},
		{name: "host refuses the locality", wrap: func(d slaunch.DCEHost) slaunch.DCEHost { return misbehavingHost{DCEHost: d, refuseLoc: true} },
			want: "tpm-locality: refused"},
		{name: "host ignores the locality", host: func(h *slaunchtest.Host) { h.IgnoreLocality = true }, want: "refused the post-launch extends"},
		{name: "host hashes another DCE", host: func(h *slaunchtest.Host) { h.HashInstead = []byte("another DCE") }, want: "does not replay to the TPM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := tpmtest.RequireSwtpm(t)
			ctl, err := tt.Control()
			if err != nil {
				t.Fatal(err)
			}
			h := &slaunchtest.Host{TPM: ctl}
			if tc.host != nil {
				tc.host(h)
			}
			open := func() (slaunch.DCEHost, io.Closer, error) {
				if tc.noHC {
					return nil, nil, errors.New("open /dev/ttyS1: no such device")
				}
				c, conn := h.Pipe(t)
				if tc.wrap != nil {
					return tc.wrap(c), conn, nil
				}
				return c, conn, nil
			}
			k := &recKexec{}
			var warnings []string
			res, err := Launch(tt, f.signed, f.pub, WithFS(f.fsys), WithKexec(k), WithEntry("plain"),
				WithLaunchLog(filepath.Join(t.TempDir(), "l")), WithWarnings(func(m string) { warnings = append(warnings, m) }),
				WithDRTM(EmulatedDRTM(open)))
			if tc.fallback {
				if err != nil || !k.executed || len(warnings) != 1 || !strings.Contains(warnings[0], tc.want) ||
					!strings.Contains(warnings[0], "launching it as a measured launch") || !errors.Is(res.DRTMFallback, slaunch.ErrNoDRTM) {
					t.Fatalf("err %v, executed %v, warnings %q; want a fallback naming %q", err, k.executed, warnings, tc.want)
				}
				banks, _ := tpm.ActiveBanks(tt)
				for _, a := range banks {
					if v := pcr(t, tt, a, 17); !v.Equal(tpm.OnesDigest(a)) {
						t.Errorf("%s PCR 17 is %s after a fallback; the dynamic launch did start", a, v)
					}
				}
				return
			}
			if err == nil || !errors.Is(err, slaunch.ErrNoDRTM) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want a refusal naming %q", err, tc.want)
			}
			if k.loaded != nil || k.executed || len(warnings) != 0 {
				t.Fatalf("loaded %v, executed %v, warnings %q after a failure past the DCE event", k.loaded != nil, k.executed, warnings)
			}
		})
	}
}
