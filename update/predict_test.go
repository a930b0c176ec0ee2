package update_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

type images struct {
	kernel, initrd []byte
	cmdline        string
}

func signedPolicy(t *testing.T, key ed25519.PrivateKey, name string, im images) []byte {
	t.Helper()
	doc := fmt.Sprintf(`{"version": 1, "entries": [{"name": %q,
  "kernel": {"path": "/boot/vmlinuz", "sha256": "%x"},
  "initrd": {"path": "/boot/initrd", "sha256": "%x"},
  "cmdline": %q, "profile": "measured-v1"}]}`, name, sha256.Sum256(im.kernel), sha256.Sum256(im.initrd), im.cmdline)
	b, err := policy.Sign([]byte(doc), key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (im images) entry(signed []byte) *launch.Entry {
	i := launch.Image{R: bytes.NewReader(im.initrd), Size: int64(len(im.initrd)), Name: "initrd"}
	return &launch.Entry{Kernel: launch.Image{R: bytes.NewReader(im.kernel), Size: int64(len(im.kernel)), Name: "kernel"},
		Initrd: &i, Cmdline: im.cmdline, Policy: signed}
}

// TestPredictLaunchesMatchesPredict: predicting from the policy alone (no
// image read) gives what launch.Predict computes from the images, for one
// launch and for a chain of two (the kexec round trip: relaunch into the
// pre-launch environment, then its launch of the target).
func TestPredictLaunchesMatchesPredict(t *testing.T) {
	pub, key := newKey(t)
	pre := images{bytes.Repeat([]byte("P"), 5000), bytes.Repeat([]byte("p"), 7000), "console=ttyS0 quiet"}
	tgt := images{bytes.Repeat([]byte("K"), 4000), bytes.Repeat([]byte("i"), 9000), "console=ttyS0 panic=-1"}
	relaunch, next := signedPolicy(t, key, "prelaunch", pre), signedPolicy(t, key, "target", tgt)
	start := tpm.NewPCRs()
	for _, i := range []int{8, 9} {
		d, _ := tpm.SHA256.Sum([]byte(fmt.Sprint("start", i)))
		start.Set(tpm.SHA256, i, d)
	}
	prof := launch.MeasuredProfile()
	banks := []tpm.Alg{tpm.SHA256}
	first, err := launch.Predict(pre.entry(relaunch), prof, banks, launch.WithStart(start))
	if err != nil {
		t.Fatal(err)
	}
	second, err := launch.Predict(tgt.entry(next), prof, banks, launch.WithStart(first.PCRs))
	if err != nil {
		t.Fatal(err)
	}
	one, err := update.PredictLaunches(start, banks, update.Launch{Signed: relaunch, Pub: pub})
	if err != nil {
		t.Fatal(err)
	}
	two, err := update.PredictLaunches(start, banks, update.Launch{Signed: relaunch, Pub: pub}, update.Launch{Signed: next, Pub: pub, Entry: "target"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		got  *tpm.Expected
		want *launch.Prediction
	}{{one, first}, {two, second}} {
		for _, i := range []int{8, 9} {
			g, _ := c.got.Get(tpm.SHA256, i)
			w, _ := c.want.PCRs.Get(tpm.SHA256, i)
			if !g.Equal(w) {
				t.Fatalf("PCR %d: from the policy %s, from the images %s", i, g, w)
			}
		}
	}
	if len(two.Events) != 8 || two.Events[7].Description() != "cmdline" {
		t.Fatalf("events %d", len(two.Events))
	}
	// Reset start values (nil) are zero.
	z, _ := update.PredictLaunches(nil, banks, update.Launch{Signed: next, Pub: pub})
	fromZero, _ := launch.Predict(tgt.entry(next), prof, banks)
	if a, _ := z.Get(tpm.SHA256, 9); !a.Equal(must(fromZero.PCRs.Get(tpm.SHA256, 9))) {
		t.Fatal("prediction from reset values differs")
	}
	// A policy under another key is refused.
	other, _ := newKey(t)
	if _, err := update.PredictLaunches(nil, banks, update.Launch{Signed: next, Pub: other}); !errors.Is(err, policy.ErrSignature) {
		t.Fatalf("other key: %v", err)
	}
	if _, err := update.PredictLaunches(nil, banks, update.Launch{Signed: next, Pub: pub, Entry: "nope"}); !errors.Is(err, policy.ErrNoEntry) {
		t.Fatalf("missing entry: %v", err)
	}
}

func must(d tpm.Digest, _ bool) tpm.Digest { return d }

// TestKexecRoundTrip: the launched OS prepares a kexec back into the
// pre-launch environment. No firmware runs, so PCR 0 stays in the update
// object at its current value; PCR 8 and 9 are extended further by the
// relaunch and the next launch, as predicted from their current values.
func TestKexecRoundTrip(t *testing.T) {
	tt := tpmtest.Open(t)
	pub, key := newKey(t)
	pre := images{[]byte("prelaunch kernel"), []byte("prelaunch initramfs"), "console=ttyS0"}
	tgt := images{[]byte("target kernel"), []byte("target initrd"), "console=ttyS0 quiet"}
	relaunch, next := signedPolicy(t, key, "prelaunch", pre), signedPolicy(t, key, "target", tgt)
	measure := func(im images, signed []byte) {
		if _, err := launch.Measure(tt, im.entry(signed), launch.MeasuredProfile()); err != nil {
			t.Fatal(err)
		}
	}
	extend(t, tt, 0, "firmware")
	measure(tgt, next) // this boot's launch
	secret := []byte("kexec secret")
	f := sealTo(t, tt, secret, 0, 8, 9)

	// Prepare predicts both launches from the current PCR values.
	plan, err := update.Prepare(tt, f.s, f.save, update.WithVia(update.ViaKexec),
		update.WithNextLaunches(update.Launch{Signed: relaunch, Pub: pub}, update.Launch{Signed: next, Pub: pub}))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Window != nil || len(plan.Dropped) != 0 || fmt.Sprint(plan.PCRs) != "[0 8 9]" || fmt.Sprint(plan.Predicted) != "[8 9]" {
		t.Fatalf("plan %+v", plan)
	}
	// The round trip: the launched OS measures and kexecs the pre-launch
	// environment (`slkit launch --policy relaunch`), which launches the
	// target; no TPM reset.
	measure(pre, relaunch)
	measure(tgt, next)
	info := mustUnseal(t, tt, f.s, secret)
	if !info.Update || !strings.Contains(info.Refusal.Error(), "PCR 8") {
		t.Fatalf("%+v", info)
	}
	if _, err := update.Finish(tt, f.s, f.save); err != nil {
		t.Fatal(err)
	}
	if info := mustUnseal(t, tt, f.s, secret); info.Update {
		t.Fatal("main object refused after finish")
	}
}

// TestPredictLaunchesOtherBanks: a policy pins only SHA-256, so predicting
// another bank without the images is refused (launch.ErrNeedImage), and
// with them (Launch.Images, at the policy's paths) gives what
// launch.Predict computes from the images; an image that does not match
// the policy's pin is refused (launch.ErrImageMismatch).
func TestPredictLaunchesOtherBanks(t *testing.T) {
	pub, key := newKey(t)
	tgt := images{bytes.Repeat([]byte("K"), 4000), bytes.Repeat([]byte("i"), 9000), "console=ttyS0"}
	signed := signedPolicy(t, key, "target", tgt)
	root := fstest.MapFS{"boot/vmlinuz": {Data: tgt.kernel}, "boot/initrd": {Data: tgt.initrd}}
	for _, a := range []tpm.Alg{tpm.SHA1, tpm.SHA384, tpm.SHA512} {
		banks := []tpm.Alg{a}
		_, err := update.PredictLaunches(nil, banks, update.Launch{Signed: signed, Pub: pub, Name: "next.json"})
		if !errors.Is(err, launch.ErrNeedImage) || !strings.Contains(err.Error(), "next.json: image needed for this bank: kernel /boot/vmlinuz: only its sha256 is pinned") {
			t.Fatalf("%s without images: %v", a, err)
		}
		got, err := update.PredictLaunches(nil, banks, update.Launch{Signed: signed, Pub: pub, Images: root})
		if err != nil {
			t.Fatal(err)
		}
		want, err := launch.Predict(tgt.entry(signed), launch.MeasuredProfile(), banks)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{8, 9} {
			if g, w := must(got.Get(a, i)), must(want.PCRs.Get(a, i)); g == nil || !g.Equal(w) {
				t.Errorf("%s PCR %d: %s from the policy and its images, %s from launch.Predict", a, i, g, w)
			}
		}
	}
	bad := fstest.MapFS{"boot/vmlinuz": {Data: []byte("another kernel")}, "boot/initrd": {Data: tgt.initrd}}
	if _, err := update.PredictLaunches(nil, []tpm.Alg{tpm.SHA384}, update.Launch{Signed: signed, Pub: pub, Images: bad}); !errors.Is(err, launch.ErrImageMismatch) {
		t.Fatalf("image that does not match the pin: %v", err)
	}
}

// TestFirmwareStart: the start of a launch after a firmware reboot is what
// OVMF's log replays to — PCR 0 as the TPM reported it when the log was
// captured, PCR 9 the EFI stub's two tagged events chained by hand — and
// PCR 8, which the firmware does not touch, at its reset value.
func TestFirmwareStart(t *testing.T) {
	b, err := os.ReadFile("../tpm/testdata/eventlogs/ovmf-q35-swtpm.bin")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpm.ParseEventLog(b)
	if err != nil {
		t.Fatal(err)
	}
	start, err := update.FirmwareStart(l)
	if err != nil {
		t.Fatal(err)
	}
	var reported struct {
		Banks map[string]map[string]string `json:"banks"`
	}
	j, _ := os.ReadFile("../tpm/testdata/eventlogs/ovmf-q35-swtpm.pcrs.json")
	if err := json.Unmarshal(j, &reported); err != nil {
		t.Fatal(err)
	}
	if got, _ := start.Get(tpm.SHA256, 0); hex.EncodeToString(got) != reported.Banks["sha256"]["0"] {
		t.Errorf("PCR 0 = %x, the TPM reported %s", got, reported.Banks["sha256"]["0"])
	}
	pcr9 := make([]byte, 32)
	for _, e := range l.Events {
		if e.PCR == 9 {
			s := sha256.Sum256(append(pcr9, e.Digests[tpm.SHA256]...))
			pcr9 = s[:]
		}
	}
	if got, _ := start.Get(tpm.SHA256, 9); !bytes.Equal(got, pcr9) || bytes.Equal(pcr9, make([]byte, 32)) {
		t.Errorf("PCR 9 = %x, want %x", got, pcr9)
	}
	if got, ok := start.Get(tpm.SHA256, 8); !ok || !bytes.Equal(got, make([]byte, 32)) {
		t.Errorf("PCR 8 = %x (%v), want the reset value", got, ok)
	}
}
