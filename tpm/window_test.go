package tpm_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// bootState extends PCR 0 ("firmware", an SRTM PCR) and PCR 8 ("launch")
// as a boot would.
func bootState(t *testing.T, tt tpm.TPMSender, firmware, launch string) {
	t.Helper()
	banks, _ := tpm.ActiveBanks(tt)
	if _, err := tpm.ExtendData(tt, 0, banks, strings.NewReader(firmware)); err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ExtendData(tt, 8, banks, strings.NewReader(launch)); err != nil {
		t.Fatal(err)
	}
}

// launchBoot is a boot through the pre-launch stage: the firmware extends
// PCR 0, the pre-launch stage increments the counter (PCR 8 still at its
// reset value), the launch extends PCR 8.
func launchBoot(t *testing.T, tt tpm.TPMSender, c *tpm.Counter, firmware, launch string) {
	t.Helper()
	banks, _ := tpm.ActiveBanks(tt)
	if _, err := tpm.ExtendData(tt, 0, banks, strings.NewReader(firmware)); err != nil {
		t.Fatal(err)
	}
	if err := c.Increment(tt); err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ExtendData(tt, 8, banks, strings.NewReader(launch)); err != nil {
		t.Fatal(err)
	}
}

func reboot(t *testing.T, tt *tpmtest.TPM) {
	t.Helper()
	if err := tt.Reboot(); err != nil {
		t.Fatal(err)
	}
}

// windowFile seals secret to PCRs 0 and 8 (main object) and adds an
// update object sealed to PCR 8 alone, bound to counter = now+1 (the
// next launch).
func windowFile(t *testing.T, tt tpm.TPMSender, c *tpm.Counter, now uint64, secret []byte, pin []byte) *tpm.Sealed {
	t.Helper()
	var opts []tpm.SealOption
	if pin != nil {
		opts = append(opts, tpm.WithPIN(pin))
	}
	pol, err := tpm.CurrentPolicy(tt, tpm.SHA256, []int{0, 8})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpm.Seal(tt, secret, pol, opts...)
	if err != nil {
		t.Fatal(err)
	}
	up, err := tpm.CurrentPolicy(tt, tpm.SHA256, []int{8})
	if err != nil {
		t.Fatal(err)
	}
	up.Counter = &tpm.CounterBound{Counter: *c, Min: now + 1, Max: now + 1}
	u, err := tpm.Seal(tt, secret, up, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.Update = u
	return reparse(t, s)
}

// TestUpdateWindow walks a firmware update: the main object is sealed to
// PCRs 0 (firmware) and 8 (launch), the update object to PCR 8 and the
// counter ≤ now+1. After a reboot into new firmware and one launch (one
// increment), the main object is refused and the update object releases
// the secret; a launch of something else, a second launch (the window
// closed) and a deleted counter are refused, each naming its reason.
func TestUpdateWindow(t *testing.T) {
	tt := tpmtest.Open(t)
	c := defineCounter(t, tt, tpm.DefaultCounterIndex)
	bootState(t, tt, "firmware v1", "launch A")
	now, _ := c.Read(tt)
	secret := randomSecret(t)
	s := windowFile(t, tt, c, now, secret, nil)

	// Same boot: the main object releases it; the update object is not used.
	var info tpm.UnsealInfo
	out, err := tpm.Unseal(tt, s, tpm.WithUnsealInfo(&info))
	if err != nil || !bytes.Equal(out, secret) || info.Update {
		t.Fatalf("before the update: %v, update=%v", err, info.Update)
	}

	// Reboot into new firmware with a pre-launch environment that does
	// not increment the counter: the window never opens.
	reboot(t, tt)
	bootState(t, tt, "firmware v2", "launch A")
	if out, err := tpm.Unseal(tt, s); out != nil || !strings.Contains(err.Error(), "update window not open: counter 0x0180534c is") {
		t.Fatalf("without the launch's increment: %v", err)
	}
	// The pre-launch stage increments, then the launch measures.
	reboot(t, tt)
	launchBoot(t, tt, c, "firmware v2", "launch A")
	out, err = tpm.Unseal(tt, s, tpm.WithUnsealInfo(&info))
	if err != nil || !bytes.Equal(out, secret) {
		t.Fatalf("inside the window: %v", err)
	}
	if !info.Update || info.Counter == nil || info.Counter.Max != now+1 ||
		!strings.Contains(info.Refusal.Error(), "PCR 0: sha256 differs") {
		t.Fatalf("inside the window: info %+v", info)
	}

	// A different launch inside the window: PCR 8 named for both objects.
	reboot(t, tt)
	bootState(t, tt, "firmware v2", "launch B")
	out, err = tpm.Unseal(tt, s)
	if out != nil || !errors.Is(err, tpm.ErrUnsealRefused) || !errors.Is(err, tpm.ErrPCRMismatch) ||
		!strings.Contains(err.Error(), "update object: PCR 8: sha256 differs") {
		t.Fatalf("other launch: %v", err)
	}

	// The next launch increments again: the window is closed for good.
	reboot(t, tt)
	launchBoot(t, tt, c, "firmware v2", "launch A")
	out, err = tpm.Unseal(tt, s)
	want := "update object: update window closed: counter 0x0180534c is " // value follows
	if out != nil || !errors.Is(err, tpm.ErrUnsealRefused) || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "the window allowed launches") || strings.Contains(err.Error(), "PCR 8") {
		t.Fatalf("closed window: %v", err)
	}
	t.Logf("closed window: %v", err)
	var r *tpm.UnsealRefusal
	if !errors.As(err, &r) {
		t.Fatalf("no UnsealRefusal in %v", err)
	}

	// Nothing after the pre-launch stage can move the counter back into
	// the window or along: the launched OS's increment is refused.
	if err := c.Increment(tt); !errors.Is(err, tpm.ErrNotStage) {
		t.Fatalf("increment in the launched OS: %v", err)
	}
}

// TestUpdateWindowPIN: the update object keeps the PIN requirement.
func TestUpdateWindowPIN(t *testing.T) {
	tt := tpmtest.Open(t)
	c := defineCounter(t, tt, tpm.DefaultCounterIndex)
	bootState(t, tt, "fw1", "launch")
	now, _ := c.Read(tt)
	secret, pin := randomSecret(t), []byte("1234")
	s := windowFile(t, tt, c, now, secret, pin)
	reboot(t, tt)
	launchBoot(t, tt, c, "fw2", "launch")
	if _, err := tpm.Unseal(tt, s); !errors.Is(err, tpm.ErrBadPIN) {
		t.Fatalf("no PIN: %v", err)
	}
	out, err := tpm.Unseal(tt, s, tpm.WithUnsealPIN(pin))
	if err != nil || !bytes.Equal(out, secret) {
		t.Fatalf("with PIN: %v", err)
	}
}

// TestWindowPolicyDigestMatchesTrialSession: PolicyNV computed offline
// (PolicyCalculator with the counter's offline Name) equals the TPM's
// trial-session digest, with and without the other policy parts.
func TestWindowPolicyDigestMatchesTrialSession(t *testing.T) {
	tt := tpmtest.Open(t)
	c := defineCounter(t, tt, tpm.DefaultCounterIndex)
	for _, p := range []tpm.SealPolicy{
		{PCRs: []int{8}},
		{PCRs: []int{8, 9}, PIN: true},
		{PCRs: []int{17, 18}, Locality: tpm.LocalityTwo, PIN: true},
	} {
		for _, limit := range []uint64{0, 7, 1 << 40} {
			vals, _ := tpm.ReadPCRs(tt, tpm.Selection{tpm.SHA256: p.PCRs})
			pp, _ := tpm.PolicyFor(tpm.SHA256, p.PCRs, vals)
			pp.PIN = p.PIN
			pp.Counter = &tpm.CounterBound{Counter: *c, Min: limit / 2, Max: limit}
			offline, err := pp.Digest()
			if err != nil {
				t.Fatal(err)
			}
			trial, err := tpm.TrialPolicyDigest(tt, pp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(offline, trial) {
				t.Fatalf("%v limit %d: offline %x, trial %x", p.PCRs, limit, offline, trial)
			}
			pp.Counter = nil
			plain, _ := pp.Digest()
			if bytes.Equal(plain, offline) {
				t.Fatal("PolicyNV did not change the digest")
			}
		}
	}
}

// TestUpdateWindowNoSecretOnTheWire records sealing the update object and
// unsealing through the window: neither the secret nor the PIN crosses the
// interface in clear.
func TestUpdateWindowNoSecretOnTheWire(t *testing.T) {
	tt := tpmtest.Open(t)
	c := defineCounter(t, tt, tpm.DefaultCounterIndex)
	bootState(t, tt, "fw1", "launch")
	now, _ := c.Read(tt)
	secret := []byte("WINDOW-SECRET-" + strings.Repeat("w", 40))
	pin := []byte("PIN-window-horse")
	rec := tpm.NewRecorder(tt)
	s := windowFile(t, rec, c, now, secret, pin)
	reboot(t, tt)
	launchBoot(t, tt, c, "fw2", "launch")
	var info tpm.UnsealInfo
	out, err := tpm.Unseal(rec, s, tpm.WithUnsealPIN(pin), tpm.WithUnsealInfo(&info))
	if err != nil || !bytes.Equal(out, secret) || !info.Update {
		t.Fatalf("unseal through the window: %v %+v", err, info)
	}
	sawNV := false
	for i, cc := range rec.CommandCodes() {
		if cc == 0x149 { // TPM_CC_PolicyNV
			sawNV = true
		}
		for _, b := range [][]byte{rec.Commands[i], rec.Responses[i]} {
			for _, needle := range [][]byte{secret, secret[:12], pin, pin[:8]} {
				if bytes.Contains(b, needle) {
					t.Fatalf("command %d (cc %#x) carries %q in clear", i, cc, needle)
				}
			}
		}
	}
	if !sawNV {
		t.Fatal("the recorder saw no PolicyNV: the window path was not recorded")
	}
}

// TestParseSealedUpdateObject: a file with an update object round-trips;
// edits to the window (limit, counter name) or a nested update are refused.
func TestParseSealedUpdateObject(t *testing.T) {
	tt := tpmtest.Open(t)
	c := defineCounter(t, tt, tpm.DefaultCounterIndex)
	bootState(t, tt, "fw", "launch")
	s := windowFile(t, tt, c, 4, []byte("x"), nil)
	b, _ := s.Marshal()
	if !bytes.Contains(b, []byte(`"update": {`)) || !bytes.Contains(b, []byte(`"max": 5`)) {
		t.Fatalf("update object not in the file:\n%s", b)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	nested := strings.Replace(string(b), `"update": {`, `"update": {"update": `+string(m["update"])+`, `, 1)
	for name, edit := range map[string]string{
		"limit":   strings.Replace(string(b), `"max": 5`, `"max": 6`, 1),
		"empty":   strings.Replace(string(b), `"min": 5`, `"min": 6`, 1),
		"counter": strings.Replace(string(b), `"index": 25187148`, `"index": 25187149`, 1),
		"nested":  nested,
	} {
		if edit == string(b) {
			t.Fatalf("%s: edit did not apply", name)
		}
		if _, err := tpm.ParseSealed([]byte(edit)); !errors.Is(err, tpm.ErrBadSealed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
