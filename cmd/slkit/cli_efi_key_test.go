package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// TestEFISealedKeyCLI: `efi keygen --seal-pcrs 17,18 --pcr-values` writes
// the journal signing key only as a sealed file (no PEM, no other file in
// the directory) and its public key; `efi queue --key` with that file is
// refused before the launch (the key does not unseal: exit 3 naming PCR
// 17), signs inside the launch (the journal verifies under the public
// key, and not under another key), and is refused again after `drtm
// leave`, naming the leave event. The plain PEM form still works.
func TestEFISealedKeyCLI(t *testing.T) {
	d := newDRTMOnSwtpm(t)
	tt, dir := d.tt, t.TempDir()
	key, pub := filepath.Join(dir, "efi.key.sealed"), filepath.Join(dir, "efi.pub")
	r := runSlkit(t, tt, "efi", "keygen", "--seal-pcrs", "17,18", "--pcr-values", d.pred, "--out", key, "--pub", pub)
	if r.code != 0 || !strings.Contains(r.stdout, "sealed to sha256 PCRs [17 18] + locality mask 0x4") {
		t.Fatalf("keygen: %d %q %q", r.code, r.stdout, r.stderr)
	}
	kb := mustRead(t, key)
	if s, err := tpm.ParseSealed(kb); err != nil || bytes.Contains(kb, []byte("PRIVATE KEY")) || s.Policy.Locality == 0 {
		t.Fatalf("the key file is not a sealed object: %v\n%s", err, kb)
	}
	if st, _ := os.Stat(key); st.Mode().Perm() != 0o600 {
		t.Errorf("sealed key mode %v", st.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("keygen left %d files, want the sealed key and the public key", len(ents))
	}
	jkey := filepath.Join(dir, "json.key.sealed")
	r = runSlkit(t, tt, "efi", "keygen", "--seal-pcrs", "17,18", "--pcr-values", d.pred, "--out", jkey, "--pub", jkey+".pub", "--json")
	var rep map[string]string
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep["private"] != jkey || rep["sealed_to"] == "" || len(rep["keyid"]) != 64 {
		t.Fatalf("keygen --json: %d %q %q", r.code, r.stdout, r.stderr)
	}
	os.Remove(jkey)
	os.Remove(jkey + ".pub")
	journal := filepath.Join(dir, "journal")
	queue := func(hex string, extra ...string) cliResult {
		return runSlkit(t, tt, append([]string{"efi", "queue", "set", "SlkitKeyTest-5c5eb1e8-4d3b-4a2f-9c61-0f3e2a7b9d10",
			"--hex", hex, "--key", key, "--journal", journal}, extra...)...)
	}
	r = queue("01")
	if r.code != 3 || !strings.Contains(r.stderr, key+": the journal signing key: unseal refused: PCR 17: sha256 differs") {
		t.Fatalf("queue before the launch: %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(journal); err == nil {
		t.Fatal("a journal was written with a key that did not unseal")
	}

	handed := d.launch(t)
	if r := queue("01"); r.code != 0 {
		t.Fatalf("queue in the launch: %d %s", r.code, r.stderr)
	}
	if r := runSlkit(t, nil, "efi", "queue", "verify", "--journal", journal, "--pub", pub, "--anchor", "none"); r.code != 0 || !strings.Contains(r.stdout, "signature verified") {
		t.Fatalf("verify under the sealed key's public key: %d %s %s", r.code, r.stdout, r.stderr)
	}
	other := filepath.Join(dir, "other.key")
	if r := runSlkit(t, nil, "efi", "keygen", "--out", other); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runSlkit(t, nil, "efi", "queue", "verify", "--journal", journal, "--pub", other+".pub", "--anchor", "none"); r.code != 3 {
		t.Fatalf("verify under another key: %d %s", r.code, r.stderr)
	}

	left := filepath.Join(dir, "left.bin")
	if r := runSlkit(t, tt, "drtm", "leave", "--log", handed, "--out", left, "--host-channel", d.sock); r.code != 0 {
		t.Fatalf("leave: %d %s", r.code, r.stderr)
	}
	before := mustRead(t, journal)
	r = queue("02", "--eventlog", left)
	if r.code != 3 || !strings.Contains(r.stderr, `PCR 17: extra event 7 "slkit: leave dynamic launch"`) {
		t.Fatalf("queue after the leave: %d %q", r.code, r.stderr)
	}
	if !bytes.Equal(mustRead(t, journal), before) {
		t.Fatal("the journal changed after a refused unseal of its key")
	}

	// The plain form: a PEM key signs without a TPM (and without the
	// journal's anchor).
	plainJ := filepath.Join(dir, "plain.journal")
	if r := runSlkit(t, nil, "efi", "queue", "set", "SlkitKeyTest-5c5eb1e8-4d3b-4a2f-9c61-0f3e2a7b9d10", "--hex", "03",
		"--key", other, "--journal", plainJ, "--anchor", "none"); r.code != 0 {
		t.Fatalf("queue with a PEM key: %d %s", r.code, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"efi", "keygen", "--out", filepath.Join(dir, "k2"), "--pcr-values", d.pred}, "--pcr-values needs --seal-pcrs"},
		{[]string{"efi", "keygen", "--out", filepath.Join(dir, "k3"), "--seal-pcrs", "x"}, `--seal-pcrs "x"`},
		{[]string{"efi", "keygen", "--out", key, "--seal-pcrs", "17,18", "--pcr-values", d.pred}, key + ": file exists"},
	} {
		if r := runSlkit(t, tt, tc.args...); r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %d %q, want exit 1 with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	huge := filepath.Join(dir, "huge.key")
	os.WriteFile(huge, append([]byte("{"), make([]byte, 64<<10)...), 0o600)
	if r := runSlkit(t, tt, "efi", "queue", "set", "X-5c5eb1e8-4d3b-4a2f-9c61-0f3e2a7b9d10", "--hex", "01", "--key", huge, "--journal", journal); r.code != 1 || !strings.Contains(r.stderr, huge+": journal key file too large: more than 65536 bytes") {
		t.Errorf("an oversized key file: %d %q", r.code, r.stderr)
	}
	bad := filepath.Join(dir, "bad.sealed")
	os.WriteFile(bad, append([]byte(`{"version": 9}`), make([]byte, 100)...), 0o600)
	if r := runSlkit(t, tt, "efi", "queue", "set", "X-5c5eb1e8-4d3b-4a2f-9c61-0f3e2a7b9d10", "--hex", "01", "--key", bad, "--journal", journal); r.code != 1 || !strings.Contains(r.stderr, bad+": bad sealed file") {
		t.Errorf("a malformed sealed key: %d %q", r.code, r.stderr)
	}
}
