package tpm_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

func randomSecret(t *testing.T) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sealRoundTrip seals through the file format (Marshal -> ParseSealed), as
// the CLI does.
func reparse(t *testing.T, s *tpm.Sealed) *tpm.Sealed {
	t.Helper()
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := tpm.ParseSealed(b)
	if err != nil {
		t.Fatalf("parse sealed file: %v", err)
	}
	return p
}

func TestSealUnsealCurrentPCRs(t *testing.T) {
	tt := tpmtest.Open(t)
	banks, _ := tpm.ActiveBanks(tt)
	tpm.ExtendData(tt, 16, banks, strings.NewReader("state"))
	secret := randomSecret(t)
	pol, err := tpm.CurrentPolicy(tt, tpm.SHA256, []int{7, 16})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpm.Seal(tt, secret, pol)
	if err != nil {
		t.Fatal(err)
	}
	s = reparse(t, s)
	got, err := tpm.Unseal(tt, s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, secret) {
		t.Fatal("unsealed secret differs")
	}
	// Change PCR 16: refused, nothing released, PCR 16 named.
	tpm.ExtendData(tt, 16, banks, strings.NewReader("more"))
	got, err = tpm.Unseal(tt, s)
	if got != nil || !errors.Is(err, tpm.ErrUnsealRefused) || !errors.Is(err, tpm.ErrPCRMismatch) {
		t.Fatalf("after extend: %x, %v", got, err)
	}
	if !strings.Contains(err.Error(), "PCR 16: sha256 differs") || strings.Contains(err.Error(), "PCR 7") {
		t.Fatalf("refusal %q", err)
	}
}

// launchEvents is what a launch measures: named components in PCR 8 and 9.
func launchEvents(t *testing.T, l *tpm.EventLog, kernel, initrd, cmdline, policy []byte) {
	t.Helper()
	for _, c := range []struct {
		pcr  int
		name string
		data []byte
	}{{8, "launch-policy", policy}, {9, "kernel", kernel}, {9, "initrd", initrd}, {8, "cmdline", cmdline}} {
		if _, err := l.AppendData(c.pcr, tpm.EvIPL, c.data, []byte(c.name)); err != nil {
			t.Fatal(err)
		}
	}
}

func flip(b []byte) []byte { c := append([]byte(nil), b...); c[len(c)/2] ^= 0x10; return c }

// TestForwardSealNamesChangedComponent seals to the PCR values a launch
// will produce (predicted from its events, before any extend), then
// performs the launch with one component flipped by one bit and checks that
// the refusal names that component's event.
func TestForwardSealNamesChangedComponent(t *testing.T) {
	kernel, initrd := bytes.Repeat([]byte("K"), 4096), bytes.Repeat([]byte("I"), 8192)
	cmdline, policy := []byte("console=ttyS0 quiet"), []byte(`{"entries":[]}`)
	for _, tc := range []struct{ name, want string }{
		{"none", ""},
		{"kernel", `PCR 9: event 2 "kernel" sha256 differs`},
		{"initrd", `PCR 9: event 3 "initrd" sha256 differs`},
		{"cmdline", `PCR 8: event 4 "cmdline" sha256 differs`},
		{"launch-policy", `PCR 8: event 1 "launch-policy" sha256 differs`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := tpmtest.Open(t)
			banks, _ := tpm.ActiveBanks(tt)
			// Prediction: no TPM involved.
			pred, _ := tpm.NewEventLog(banks)
			launchEvents(t, pred, kernel, initrd, cmdline, policy)
			want, err := pred.Replay()
			if err != nil {
				t.Fatal(err)
			}
			pol, err := tpm.PolicyFor(tpm.SHA256, []int{8, 9}, want)
			if err != nil {
				t.Fatal(err)
			}
			secret := randomSecret(t)
			s, err := tpm.Seal(tt, secret, pol, tpm.WithExpectedEvents(pred.Events))
			if err != nil {
				t.Fatal(err)
			}
			s = reparse(t, s)
			// Before the launch: refused.
			if out, err := tpm.Unseal(tt, s); out != nil || !errors.Is(err, tpm.ErrUnsealRefused) {
				t.Fatalf("before launch: %v", err)
			}
			// The launch, possibly tampered.
			k, i, c, p := kernel, initrd, cmdline, policy
			switch tc.name {
			case "kernel":
				k = flip(k)
			case "initrd":
				i = flip(i)
			case "cmdline":
				c = flip(c)
			case "launch-policy":
				p = flip(p)
			}
			cur, _ := tpm.NewEventLog(banks)
			launchEvents(t, cur, k, i, c, p)
			for _, e := range cur.Events {
				if err := tpm.Extend(tt, e.PCR, e.Digests); err != nil {
					t.Fatal(err)
				}
			}
			out, err := tpm.Unseal(tt, s, tpm.WithEventLogs(cur))
			if tc.want == "" {
				if err != nil || !bytes.Equal(out, secret) {
					t.Fatalf("untampered launch: %v", err)
				}
				return
			}
			if out != nil {
				t.Fatal("a tampered launch released the secret")
			}
			var r *tpm.UnsealRefusal
			if !errors.As(err, &r) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refusal %q, want it to contain %q", err, tc.want)
			}
			if len(r.PCRs) != 1 {
				t.Fatalf("refusal names %d PCRs, want 1: %v", len(r.PCRs), err)
			}
		})
	}
}

// TestWrongPIN checks that a wrong PIN is refused, counts once toward the
// dictionary-attack lockout (the object is DA-protected), and that the test
// resets the counter instead of burning through the TPM's lockout.
func TestWrongPIN(t *testing.T) {
	tt := tpmtest.Open(t)
	secret := randomSecret(t)
	pol, _ := tpm.CurrentPolicy(tt, tpm.SHA256, []int{7})
	s, err := tpm.Seal(tt, secret, pol, tpm.WithPIN([]byte("1234-correct")))
	if err != nil {
		t.Fatal(err)
	}
	s = reparse(t, s)
	before := lockoutCounter(t, tt)
	out, err := tpm.Unseal(tt, s, tpm.WithUnsealPIN([]byte("0000-wrong")))
	if out != nil || !errors.Is(err, tpm.ErrBadPIN) {
		t.Fatalf("wrong PIN: %x %v", out, err)
	}
	if after := lockoutCounter(t, tt); after != before+1 {
		t.Fatalf("DA lockout counter %d -> %d, want +1 (object must be DA-protected)", before, after)
	}
	if _, err := tpm.Unseal(tt, s); !errors.Is(err, tpm.ErrBadPIN) {
		t.Fatalf("no PIN: %v", err)
	}
	// Reset the counter (lockout auth is empty on a test TPM).
	daLockReset(t, tt)
	if c := lockoutCounter(t, tt); c != 0 {
		t.Fatalf("lockout counter %d after reset", c)
	}
	out, err = tpm.Unseal(tt, s, tpm.WithUnsealPIN([]byte("1234-correct")))
	if err != nil || !bytes.Equal(out, secret) {
		t.Fatalf("right PIN: %v", err)
	}
}

func lockoutCounter(t *testing.T, tt tpm.TPMSender) uint32 {
	t.Helper()
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapTPMProperties, Property: uint32(tpm2.TPMPTLockoutCounter), PropertyCount: 1}.Execute(tt)
	if err != nil {
		t.Fatal(err)
	}
	props, err := rsp.CapabilityData.Data.TPMProperties()
	if err != nil || len(props.TPMProperty) == 0 || props.TPMProperty[0].Property != tpm2.TPMPTLockoutCounter {
		t.Fatalf("lockout counter: %v", err)
	}
	return props.TPMProperty[0].Value
}

// TestNoSecretOnTheWire records every command and response of seal and
// unseal and checks that neither the secret nor the PIN appears in them.
func TestNoSecretOnTheWire(t *testing.T) {
	tt := tpmtest.Open(t)
	rec := tpm.NewRecorder(tt)
	secret := []byte("TOP-SECRET-" + string(bytes.Repeat([]byte{'s'}, 40)))
	pin := []byte("PIN-correct-horse-battery")
	pol, _ := tpm.CurrentPolicy(rec, tpm.SHA256, []int{0, 7})
	s, err := tpm.Seal(rec, secret, pol, tpm.WithPIN(pin))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpm.Unseal(rec, reparse(t, s), tpm.WithUnsealPIN(pin))
	if err != nil || !bytes.Equal(out, secret) {
		t.Fatalf("unseal: %v", err)
	}
	if rec.Count() < 6 {
		t.Fatalf("only %d commands recorded", rec.Count())
	}
	for i := range rec.Commands {
		for _, b := range [][]byte{rec.Commands[i], rec.Responses[i]} {
			for _, needle := range [][]byte{secret, secret[:12], pin, pin[:8]} {
				if bytes.Contains(b, needle) {
					t.Fatalf("command %d (cc %#x) carries %q in clear", i, rec.CommandCodes()[i], needle)
				}
			}
		}
	}
	// Negative control: the same Create without an encrypting session does
	// show the secret on the wire, so the check above can fail.
	raw := tpm.NewRecorder(tt)
	srk, err := tpm.LoadSRK(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer srk.Close(tt)
	_, err = tpm2.Create{
		ParentHandle: tpm2.AuthHandle{Handle: srk.Handle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)},
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			Data: tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret})}},
		InPublic: tpm2.New2B(tpm2.TPMTPublic{Type: tpm2.TPMAlgKeyedHash, NameAlg: tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true, UserWithAuth: true},
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{
				Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull}})}),
	}.Execute(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw.Commands[len(raw.Commands)-1], secret) {
		t.Fatal("negative control: an unencrypted Create did not show the secret; the recorder sees nothing")
	}
}

// TestUnsealCommandCount counts TPM round trips with a persistent SRK:
// 6 without a PIN, 7 with one (ReadPublic of the SRK, to check it is the
// key the file names, then Load, StartAuthSession, PolicyPCR
// [, PolicyAuthValue], Unseal, FlushContext).
func TestUnsealCommandCount(t *testing.T) {
	tt := tpmtest.Open(t)
	srk, err := tpm.ProvisionSRK(tt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tpm2.EvictControl{Auth: tpm2.TPMRHOwner, ObjectHandle: tpm2.NamedHandle{Handle: srk.Handle, Name: srk.Name}, PersistentHandle: tpm.SRKHandle}.Execute(tt)
	})
	for _, pin := range [][]byte{nil, []byte("pin")} {
		pol, _ := tpm.CurrentPolicy(tt, tpm.SHA256, []int{7})
		var opts []tpm.SealOption
		if pin != nil {
			opts = append(opts, tpm.WithPIN(pin))
		}
		s, err := tpm.Seal(tt, []byte("k"), pol, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if !s.SRK.Persistent {
			t.Fatal("sealed under a transient SRK although one is provisioned")
		}
		rec := tpm.NewRecorder(tt)
		if _, err := tpm.Unseal(rec, s, tpm.WithUnsealPIN(pin)); err != nil {
			t.Fatal(err)
		}
		want := 6
		if pin != nil {
			want = 7
		}
		if rec.Count() != want {
			t.Fatalf("PIN=%v: %d TPM commands (%#x), want %d", pin != nil, rec.Count(), rec.CommandCodes(), want)
		}
	}
}

// TestPolicyDigestMatchesTrialSession computes the policy offline and in a
// TPM trial session (PolicyGetDigest) for each combination of options.
func TestPolicyDigestMatchesTrialSession(t *testing.T) {
	tt := tpmtest.Open(t)
	for _, p := range []tpm.SealPolicy{
		{PCRs: []int{7}},
		{PCRs: []int{8, 9}, PIN: true},
		{PCRs: []int{17, 18}, Locality: tpm.LocalityTwo},
		{PCRs: []int{0, 17, 18, 22}, Locality: tpm.LocalityTwo, PIN: true},
	} {
		vals, _ := tpm.ReadPCRs(tt, tpm.Selection{tpm.SHA256: p.PCRs})
		pp, _ := tpm.PolicyFor(tpm.SHA256, p.PCRs, vals)
		pp.PIN = p.PIN
		offline, err := pp.Digest()
		if err != nil {
			t.Fatal(err)
		}
		trial, err := tpm.TrialPolicyDigest(tt, pp)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(offline, trial) {
			t.Fatalf("%+v: offline %x, trial session %x", p, offline, trial)
		}
	}
}

func TestParseSealedRejectsEdits(t *testing.T) {
	tt := tpmtest.Open(t)
	pol, _ := tpm.CurrentPolicy(tt, tpm.SHA256, []int{7})
	s, _ := tpm.Seal(tt, []byte("x"), pol)
	b, _ := s.Marshal()
	zero := strings.Repeat("0", 64)
	v, _ := s.Expected.Get(tpm.SHA256, 7)
	for name, edit := range map[string]string{
		"expected value": strings.Replace(string(b), v.String(), "ff"+zero[2:], 1),
		"version":        strings.Replace(string(b), `"version": 1`, `"version": 2`, 1),
		"kind":           strings.Replace(string(b), `"slkit-sealed"`, `"other"`, 1),
		"pcr list":       strings.Replace(string(b), `"pcrs": [`, `"pcrs": [3,`, 1),
		"unknown field":  strings.Replace(string(b), `"version"`, `"extra": 1, "version"`, 1),
		"truncated":      string(b[:len(b)/2]),
	} {
		if _, err := tpm.ParseSealed([]byte(edit)); !errors.Is(err, tpm.ErrBadSealed) {
			t.Errorf("%s: err = %v, want ErrBadSealed", name, err)
		}
	}
}

func TestSecretSizeLimits(t *testing.T) {
	tt := tpmtest.Open(t)
	pol, _ := tpm.CurrentPolicy(tt, tpm.SHA256, []int{7})
	for _, n := range []int{0, tpm.MaxSecret + 1} {
		if _, err := tpm.Seal(tt, make([]byte, n), pol); !errors.Is(err, tpm.ErrSecretSize) {
			t.Errorf("%d-byte secret: %v", n, err)
		}
	}
	if _, err := tpm.Seal(tt, make([]byte, tpm.MaxSecret), pol); err != nil {
		t.Errorf("%d-byte secret: %v", tpm.MaxSecret, err)
	}
}

// daLockReset sends TPM2_DictionaryAttackLockReset (Part 3 §25.2; not in
// go-tpm v0.9.8) with an empty lockout password.
func daLockReset(t *testing.T, tt tpm.TPMSender) {
	t.Helper()
	cmd := unhex(t, `8002 0000001b 00000139 4000000a   // TPM_ST_SESSIONS, size 27, CC, TPM_RH_LOCKOUT
		00000009 40000009 0000 00 0000                 // auth area: TPM_RS_PW, empty nonce, attrs 0, empty password`)
	rsp, err := tt.Send(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if rc := rsp[6:10]; !bytes.Equal(rc, []byte{0, 0, 0, 0}) {
		t.Fatalf("DictionaryAttackLockReset: rc %x", rc)
	}
}
