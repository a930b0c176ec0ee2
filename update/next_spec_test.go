package update

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
)

// nextSpecFiles writes a signed policy, its key and a file of PCR values.
func nextSpecFiles(t *testing.T) (signed, key, values string, signedBytes []byte) {
	t.Helper()
	dir := t.TempDir()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	doc := `{"version": 1, "entries": [{"name": "a", "kernel": {"path": "/k", "sha256": "` +
		string(bytes.Repeat([]byte("ab"), 32)) + `"}, "cmdline": "", "profile": "measured-v1"}]}`
	sb, err := policy.Sign([]byte(doc), priv)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := policy.MarshalPublicKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"p.signed": sb, "k.pub": pem, "pcrs.json": []byte(`{"banks": {}}`)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "p.signed"), filepath.Join(dir, "k.pub"), filepath.Join(dir, "pcrs.json"), sb
}

// TestNextSpecRefused: each bad combination is an input error in the
// words of `update prepare`'s flags; an unreadable file names itself.
func TestNextSpecRefused(t *testing.T) {
	signed, key, values, _ := nextSpecFiles(t)
	missing := filepath.Join(t.TempDir(), "missing")
	entry := "a"
	for _, c := range []struct {
		name string
		spec NextSpec
		want string
	}{
		{"next-pcrs, next-policy", NextSpec{NextPCRs: values, Next: LaunchSpec{Policy: signed}},
			"update prepare: --next-pcrs and --next-policy exclude each other"},
		{"next-pcrs, relaunch-policy", NextSpec{NextPCRs: values, Relaunch: LaunchSpec{Policy: signed}},
			"update prepare: --next-pcrs and --relaunch-policy exclude each other"},
		{"next-pcrs, start", NextSpec{NextPCRs: values, Start: values},
			"update prepare: --next-pcrs and --start exclude each other"},
		{"next-pcrs, next-root", NextSpec{NextPCRs: values, Next: LaunchSpec{Root: "/"}},
			"update prepare: --next-pcrs and --next-root exclude each other"},
		{"next-pcrs, relaunch-root", NextSpec{NextPCRs: values, Relaunch: LaunchSpec{Root: "/"}},
			"update prepare: --next-pcrs and --relaunch-root exclude each other"},
		{"relaunch on reboot", NextSpec{Via: ViaReboot, Relaunch: LaunchSpec{Policy: signed}, PolicyKey: key},
			"update prepare: --relaunch-policy is for --via kexec"},
		{"start on kexec", NextSpec{Via: ViaKexec, Next: LaunchSpec{Policy: signed}, PolicyKey: key, Start: values},
			"update prepare: --start is for --via reboot (a kexec starts from the current values)"},
		{"next entry alone", NextSpec{Via: ViaReboot, Next: LaunchSpec{Entry: &entry}},
			"prepare: --next-entry needs --next-policy"},
		{"empty next entry alone", NextSpec{Via: ViaReboot, Next: LaunchSpec{Entry: new(string)}},
			"prepare: --next-entry needs --next-policy"},
		{"relaunch root alone", NextSpec{Via: ViaKexec, Relaunch: LaunchSpec{Root: "/"}},
			"prepare: --relaunch-root needs --relaunch-policy"},
		{"entry named before root", NextSpec{Via: ViaKexec, Relaunch: LaunchSpec{Entry: &entry, Root: "/"}},
			"prepare: --relaunch-entry needs --relaunch-policy"},
		{"relaunch checked before next", NextSpec{Via: ViaKexec, Relaunch: LaunchSpec{Root: "/"}, Next: LaunchSpec{Entry: &entry}},
			"prepare: --relaunch-root needs --relaunch-policy"},
		{"no key", NextSpec{Via: ViaReboot, Next: LaunchSpec{Policy: signed}},
			"prepare: --policy-key is required"},
	} {
		opts, what, err := c.spec.Options()
		if err == nil || err.Error() != c.want || !errors.Is(err, errkind.Input) || opts != nil || what != "" {
			t.Errorf("%s: %d options, %q, %v; want %q (an input error)", c.name, len(opts), what, err, c.want)
		}
	}
	for name, spec := range map[string]NextSpec{
		"next-pcrs":  {NextPCRs: missing},
		"policy":     {Via: ViaKexec, Next: LaunchSpec{Policy: missing}, PolicyKey: key},
		"policy key": {Via: ViaKexec, Next: LaunchSpec{Policy: signed}, PolicyKey: missing},
		"start":      {Via: ViaReboot, Next: LaunchSpec{Policy: signed}, PolicyKey: key, Start: missing},
	} {
		var in *fsys.InputError
		if _, _, err := spec.Options(); !errors.As(err, &in) || in.Path != missing {
			t.Errorf("missing %s: %v, want an input error naming it", name, err)
		}
	}
}

// TestNextSpecOptions: the options and the words for where the values
// come from.
func TestNextSpecOptions(t *testing.T) {
	signed, key, values, sb := nextSpecFiles(t)
	entry := "a"
	apply := func(opts []Option) *config {
		var c config
		for _, o := range opts {
			o(&c)
		}
		return &c
	}
	if opts, what, err := (NextSpec{Via: ViaReboot}).Options(); opts != nil || what != "" || err != nil {
		t.Errorf("no launch: %d options, %q, %v", len(opts), what, err)
	}
	// --next-entry is not among --next-pcrs' exclusions.
	opts, what, err := NextSpec{NextPCRs: values, Next: LaunchSpec{Entry: &entry}}.Options()
	if c := apply(opts); err != nil || c.next == nil || c.nextLaunches != nil || what != "the values in "+values {
		t.Errorf("next-pcrs: %+v, %q, %v", c, what, err)
	}
	opts, what, err = NextSpec{Via: ViaKexec, Relaunch: LaunchSpec{Policy: signed, Entry: &entry, Root: "/"},
		Next: LaunchSpec{Policy: signed}, PolicyKey: key}.Options()
	c := apply(opts)
	if err != nil || len(c.nextLaunches) != 2 || c.start != nil {
		t.Fatalf("kexec: %+v, %v", c, err)
	}
	r, n := c.nextLaunches[0], c.nextLaunches[1]
	if r.Name != "--relaunch-policy "+signed || r.Entry != "a" || r.Images == nil || !bytes.Equal(r.Signed, sb) || r.Pub == nil ||
		n.Name != "--next-policy "+signed || n.Entry != "" || n.Images != nil {
		t.Errorf("kexec launches: %+v", c.nextLaunches)
	}
	if want := "predicted for " + signed + ` entry "a" then ` + signed + ` entry "" from the current PCR values`; what != want {
		t.Errorf("kexec: %q, want %q", what, want)
	}
	opts, what, err = NextSpec{Via: ViaReboot, Next: LaunchSpec{Policy: signed}, PolicyKey: key, Start: values}.Options()
	if c := apply(opts); err != nil || len(c.nextLaunches) != 1 || c.start == nil || what != "predicted for "+signed+` entry "" from `+values {
		t.Errorf("reboot with start: %+v, %q, %v", c, what, err)
	}
}
