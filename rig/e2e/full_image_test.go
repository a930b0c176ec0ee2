package e2e_test

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
	"github.com/slkit/slkit/tpm"
)

// TestFullImageLaunchOnRig boots the full pre-launch image (`initramfs
// build --full`: u-root's init from mkuimage, with slkit as its uinit),
// once, on SeaBIOS: u-root's init starts slkit, which verifies the signed
// policy, measures and kexecs into a minimal target image; the target
// reads PCR 8 and 9 and replays the handed-over event log against the
// TPM. The PCRs must be the values computed here with the standard
// library (SHA-256) and the host's prediction (every bank).
func TestFullImageLaunchOnRig(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a full image with mkuimage and boots it")
	}
	e := rigtest.New(t)
	const cmdline = qemu.DefaultAppend
	target := e.Image("target.cpio", "--run", "pcr read --json 8 9", "--then", "eventlog replay --against-tpm "+launchLog)
	kernel := e.Kernel.Path
	oneEntryPolicy(e, "full", kernel, target, cmdline)
	pred := e.Run("predict", "--kernel", kernel, "--initrd", target, "--cmdline", cmdline, "--policy", e.Path("policy.signed"), "--json")

	var built struct {
		Result struct {
			Full bool `json:"full"`
		} `json:"result"`
	}
	src, err := initramfs.FindSource("")
	if err != nil {
		t.Fatal(err)
	}
	out := e.Path("prelaunch-full.cpio")
	rep := e.Run("initramfs", "build", "--full", "--out", out, "--slkit-binary", e.Slkit, "--source", src, "--json",
		"--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"),
		"--add", kernel+":/boot/vmlinuz", "--add", target+":/boot/target.cpio")
	if err := json.Unmarshal([]byte(rep), &built); err != nil || !built.Result.Full {
		t.Fatalf("initramfs build --full: %v %s", err, rep)
	}

	b := e.Boot(out, cmdline)
	b.MustSucceed(t)
	t.Logf("%s", b)
	// The pre-launch environment was u-root's init, then slkit as its
	// uinit; the target (a minimal image) has no u-root.
	welcome := b.Lines("Welcome to u-root!")
	if len(welcome) != 1 {
		t.Fatalf("%d \"Welcome to u-root!\" lines, want 1 (the full pre-launch image)", len(welcome))
	}
	if phases := b.Between("Welcome to u-root!", "phase=kexec"); !contains(phases, "slkit: phase=verify-policy") {
		t.Errorf("slkit did not verify the policy after u-root's init started:\n%s", strings.Join(phases, "\n"))
	}
	if n := len(b.Lines("event log matches the TPM")); n != 1 {
		t.Errorf("the target's replay of the handed-over log: %d matches\n%s", n, b.Tail(30))
	}

	// PCR 8 = E(E(0, H(signed policy)), H(cmdline)), PCR 9 = E(E(0, H(kernel)), H(initrd)).
	var read tpm.Expected
	if err := json.Unmarshal([]byte(b.Output("pcr read")), &read); err != nil {
		t.Fatalf("the target's pcr read: %v", err)
	}
	want := map[int][]byte{
		8: sha256Chain(t, mustRead(t, e.Path("policy.signed")), []byte(cmdline)),
		9: sha256Chain(t, mustRead(t, kernel), mustRead(t, target)),
	}
	for i, w := range want {
		if got, _ := read.Get(tpm.SHA256, i); !got.Equal(w) {
			t.Errorf("sha256 PCR %d: the target read %s, want %x", i, got, w)
		}
	}
	b.CheckPCRs(t, pred, 4, 8, 9)
}

// sha256Chain extends a zero SHA-256 PCR with H(m) for each m in order.
func sha256Chain(t *testing.T, measured ...[]byte) []byte {
	t.Helper()
	pcr := make([]byte, sha256.Size)
	for _, m := range measured {
		d := sha256.Sum256(m)
		s := sha256.Sum256(append(pcr, d[:]...))
		pcr = s[:]
	}
	return pcr
}
