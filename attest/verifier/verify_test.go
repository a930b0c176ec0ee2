package verifier_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/attest/attesttest"
	"github.com/slkit/slkit/attest/verifier"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// enrolled is a booted machine whose AK passed credential activation.
type enrolled struct {
	*attesttest.Machine
	cas    *verifier.CAs
	record *verifier.Record
	secret []byte
}

// enroll runs the round trip a fleet verifier runs once per machine: a
// first bundle (any nonce) gives the EK certificate and the AK; the
// verifier makes the challenge; the machine's TPM activates it.
func enroll(t *testing.T, m *attesttest.Machine) *enrolled { return enrollB(t, m) }

func enrollB(t testing.TB, m *attesttest.Machine) *enrolled {
	t.Helper()
	chain, err := m.CA.Chain()
	if err != nil {
		t.Fatal(err)
	}
	cas, err := verifier.ParseCAs(chain)
	if err != nil {
		t.Fatal(err)
	}
	ch, rec, err := verifier.MakeChallenge(m.Quote(attesttest.Nonce(t)), cas)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Open()
	defer c.Close()
	secret, err := attest.Activate(c, ch)
	if err != nil {
		t.Fatal(err)
	}
	return &enrolled{Machine: m, cas: cas, record: rec, secret: secret}
}

func (e *enrolled) options(nonce []byte, signed []byte) verifier.Options {
	o := verifier.Options{Nonce: nonce, CAs: e.cas, Record: e.record}
	if signed != nil {
		o.Policy = &verifier.PolicyInput{Signed: signed, Key: e.Pub, Images: os.DirFS(e.Images)}
	}
	return o
}

// mustRefuse fails unless err wraps sentinel and its message has every
// want.
func mustRefuse(t *testing.T, what string, err, sentinel error, wants ...string) {
	t.Helper()
	t.Logf("%s: %v", what, err)
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: %v, want %v", what, err, sentinel)
		return
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q lacks %q", what, err, w)
		}
	}
}

// TestVerifyDynamicLaunch: a machine that launched policy entry "drtm"
// with the emulated DRTM gives evidence that verifies against the signed
// policy: the EK certificate chains to the local CA, the AK passed
// activation, the four quotes carry the nonce, the firmware log replays
// to PCR 0-7, the pre-launch log to 8/9 and the DRTM log to 17/18 in every
// bank, and the launch is entry "drtm" (not the earlier entry "other").
// Then the refusals, each from the same evidence changed in one way.
func TestVerifyDynamicLaunch(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	e := enroll(t, attesttest.Boot(t, caDir, "drtm"))
	nonce := attesttest.Nonce(t)
	ev := e.Quote(nonce, attest.WithActivation(e.secret))
	rep, err := verifier.Verify(ev, e.options(nonce, e.Signed))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.OK || !rep.Activated || rep.Launch == nil || rep.Launch.Entry != "drtm" || !rep.Launch.Dynamic {
		t.Fatalf("report: %+v %+v", rep, rep.Launch)
	}
	if len(rep.Banks) != 4 || len(rep.PCRs) != 24 {
		t.Errorf("quoted banks %v, PCRs %v", rep.Banks, rep.PCRs)
	}
	// The OVMF log also measures into PCR 9 (the EFI stub's initrd): the
	// firmware and pre-launch logs are replayed together.
	wantLogs := map[string][]int{"firmware": {0, 1, 2, 3, 4, 5, 6, 7, 9}, "prelaunch": {8, 9}, "drtm": {17, 18}}
	for _, l := range rep.Logs {
		if w := wantLogs[l.Name]; !slices.Equal(l.PCRs, w) || len(l.Verified) != 4 {
			t.Errorf("%s log: PCRs %v (want %v), verified in %v", l.Name, l.PCRs, w, l.Verified)
		}
	}
	if len(rep.Logs) != 3 || !slices.Contains(rep.Unexplained, 10) || slices.Contains(rep.Unexplained, 17) {
		t.Errorf("logs %d, unexplained %v", len(rep.Logs), rep.Unexplained)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), `launched: policy entry "drtm", dynamic launch`) {
		t.Errorf("report text:\n%s", text.String())
	}
	t.Logf("\n%s", text.String())

	t.Run("replayed nonce", func(t *testing.T) {
		_, err := verifier.Verify(ev, e.options(attesttest.Nonce(t), e.Signed))
		mustRefuse(t, "old bundle", err, verifier.ErrNonce, "an old or replayed bundle")
	})
	t.Run("a log with one event removed", func(t *testing.T) {
		for _, c := range []struct {
			name string
			log  *[]byte
			pcr  string
			want string
		}{
			{"prelaunch", &ev.Logs.PreLaunch, "PCR 9", "the firmware+prelaunch log does not replay to the quoted sha1 PCR 9"},
			{"drtm", &ev.Logs.DRTM, "PCR 17", "the drtm log does not replay to the quoted sha1 PCR 17"},
			{"firmware", &ev.Logs.Firmware, "PCR 0", "the firmware+prelaunch log does not replay to the quoted sha1 PCR 0"},
		} {
			bad := *ev
			l, err := tpm.ParseEventLog(*c.log)
			if err != nil {
				t.Fatal(err)
			}
			// The first event of the PCR named (kernel, DLME entry offset, S-CRTM version).
			i := slices.IndexFunc(l.Events, func(ev tpm.Event) bool { return "PCR "+strconv.Itoa(ev.PCR) == c.pcr && ev.Type != tpm.EvNoAction })
			l.Events = slices.Delete(l.Events, i, i+1)
			b, err := l.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			switch c.name {
			case "prelaunch":
				bad.Logs.PreLaunch = b
			case "drtm":
				bad.Logs.DRTM = b
			default:
				bad.Logs.Firmware = b
			}
			_, err = verifier.Verify(&bad, e.options(nonce, e.Signed))
			mustRefuse(t, c.name, err, verifier.ErrLogReplay, c.want)
		}
	})
	t.Run("a kernel the policy does not allow", func(t *testing.T) {
		// The policy the fleet trusts now: entry "drtm" with another kernel.
		signed := e.Sign(attesttest.Entry{Name: "drtm", Kernel: "vmlinuz-other", RequireDRTM: true})
		var err error
		_, err = verifier.Verify(ev, e.options(nonce, signed))
		mustRefuse(t, "other kernel", err, verifier.ErrNoEntry,
			`prelaunch event 1 (PCR 8 EV_IPL "launch-policy"`, `matches no entry`, `prelaunch event 2 "kernel" differs`, `drtm event 3 "DLME" differs`)
	})
	t.Run("an AK that did not pass activation", func(t *testing.T) {
		none := e.Quote(nonce)
		_, err := verifier.Verify(none, e.options(nonce, nil))
		mustRefuse(t, "no activation secret", err, verifier.ErrNotActivated, "carries no activation secret")
		// A second genuine TPM (EK certified by the same CA) that copies
		// this machine's activation secret into its own evidence.
		other := attesttest.Boot(t, caDir, "drtm")
		stolen := other.Quote(nonce, attest.WithActivation(e.secret))
		_, err = verifier.Verify(stolen, e.options(nonce, nil))
		mustRefuse(t, "another TPM with a copied secret", err, verifier.ErrNotActivated, "another EK certificate")
		// That TPM cannot answer this machine's challenge either.
		ch, _, err := verifier.MakeChallenge(e.Quote(attesttest.Nonce(t)), e.cas)
		if err != nil {
			t.Fatal(err)
		}
		c := other.Open()
		defer c.Close()
		if _, err := attest.Activate(c, ch); !errors.Is(err, attest.ErrActivation) {
			t.Errorf("activation on another TPM: %v, want ErrActivation", err)
		}
	})
	t.Run("an EK certificate from another CA", func(t *testing.T) {
		otherCA := filepath.Join(t.TempDir(), "ca")
		attesttest.Boot(t, otherCA, "plain")
		chain, err := swtpm.NewLocalCA(otherCA).Chain()
		if err != nil {
			t.Fatal(err)
		}
		cas, err := verifier.ParseCAs(chain)
		if err != nil {
			t.Fatal(err)
		}
		o := e.options(nonce, nil)
		o.CAs = cas
		_, err = verifier.Verify(ev, o)
		mustRefuse(t, "other CA", err, verifier.ErrEKCertificate, "certificate signed by unknown authority")
	})
	t.Run("a quote over other PCRs than the logs cover", func(t *testing.T) {
		part := e.Quote(nonce, attest.WithActivation(e.secret), attest.WithPCRs([]int{0, 1, 2, 3, 4, 5, 6, 7}))
		_, err := verifier.Verify(part, e.options(nonce, nil))
		mustRefuse(t, "PCRs 0-7 only", err, verifier.ErrCoverage, "the firmware log extends PCR 9, which the sha1 quote does not cover (it covers PCR 0-7)")
	})
	t.Run("a PCR value the quote does not sign", func(t *testing.T) {
		bad := *ev
		bad.PCRs = &tpm.PCRs{Banks: map[tpm.Alg]map[int]tpm.Digest{}}
		for _, a := range ev.PCRs.Algs() {
			for _, i := range ev.PCRs.Indices(a) {
				v, _ := ev.PCRs.Get(a, i)
				bad.PCRs.Set(a, i, v)
			}
		}
		bad.PCRs.Set(tpm.SHA256, 9, make(tpm.Digest, 32))
		_, err := verifier.Verify(&bad, e.options(nonce, nil))
		mustRefuse(t, "changed PCR 9", err, verifier.ErrQuote, "quote digest didn't match")
	})
}

// TestVerifyMeasuredLaunch: a launch of entry "plain" without DRTM
// verifies as that entry from PCR 8/9 alone; "drtm" (same images) is not
// it, because it requires DRTM; PCR 17 is still all ones.
func TestVerifyMeasuredLaunch(t *testing.T) {
	e := enroll(t, attesttest.Boot(t, filepath.Join(t.TempDir(), "ca"), "plain"))
	nonce := attesttest.Nonce(t)
	ev := e.Quote(nonce, attest.WithActivation(e.secret))
	if ev.Logs.DRTM != nil {
		t.Fatal("a measured launch has a DRTM log")
	}
	rep, err := verifier.Verify(ev, e.options(nonce, e.Signed))
	if err != nil || rep.Launch.Entry != "plain" || rep.Launch.Dynamic {
		t.Fatalf("verify: %v %+v", err, rep.Launch)
	}
	if !slices.Contains(rep.Unexplained, 17) {
		t.Errorf("PCR 17 (all ones, no DRTM) reported as described by a log: %v", rep.Unexplained)
	}
	if p17, _ := ev.PCRs.Get(tpm.SHA256, slaunch.PCRDCE); !p17.Equal(tpm.OnesDigest(tpm.SHA256)) {
		t.Errorf("PCR 17 after a measured launch: %s", p17)
	}
	// The verifier's images must be the policy's: a changed kernel under
	// --images is an input error, never a prediction of another kernel.
	k := filepath.Join(e.Images, "boot", "vmlinuz")
	b, _ := os.ReadFile(k)
	os.WriteFile(k, append(b, 0), 0o644)
	_, err = verifier.Verify(ev, e.options(nonce, e.Signed))
	mustRefuse(t, "changed image", err, verifier.ErrImages, "kernel /boot/vmlinuz: sha256", "policy entry")
	if errors.Is(err, launch.ErrImageMismatch) {
		t.Error("an images-directory problem is reported as a refused launch")
	}
}
