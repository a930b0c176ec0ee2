package nextboot

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/tpm"
)

// publicLogs are the real-machine logs `make deps` fetches, with the PCR
// values the machine's TPM quoted where the source has them.
func publicLogs(t *testing.T) map[string]*tpm.EventLog {
	t.Helper()
	dir := os.Getenv("SLKIT_CACHE")
	if dir == "" {
		dir = "../.cache"
	}
	dir = filepath.Join(dir, "eventlogs", "public")
	files, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	if len(files) < 2 {
		if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
			t.Fatalf("public event logs missing in %s (SLKIT_REQUIRE_RIG=1): run make deps", dir)
		}
		t.Skipf("public event logs missing in %s: run make deps", dir)
	}
	out := map[string]*tpm.EventLog{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l, err := tpm.ParseEventLog(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = l
	}
	out["ovmf-secureboot-uki.bin"] = ovmfLog(t)
	return out
}

// ownReplay replays the SHA-256 bank of l's events the simplest way (no
// package tpm code), for the PCRs without EV_NO_ACTION subtleties.
func ownReplay(l *tpm.EventLog) map[int][]byte {
	out := map[int][]byte{}
	for _, e := range l.Events {
		if e.Type == tpm.EvNoAction {
			continue
		}
		if d, ok := e.Digests[tpm.SHA256]; ok {
			if out[e.PCR] == nil {
				out[e.PCR] = make([]byte, 32)
			}
			h := sha256.Sum256(append(append([]byte(nil), out[e.PCR]...), d...))
			out[e.PCR] = h[:]
		}
	}
	return out
}

// TestNoChangeReproducesRealLogs: predicting "no change" from the logs of
// real machines (and of the rig) rebuilds every variable event it models
// byte for byte and gives each log's own PCR values, checked with an
// independent replay; so does a journal that sets BootOrder and db to
// the values they have. At least two logs must have their boot variables
// and Secure Boot configuration modelled, not merely kept.
func TestNoChangeReproducesRealLogs(t *testing.T) {
	modelled := 0
	for name, l := range publicLogs(t) {
		t.Run(name, func(t *testing.T) {
			m := analyze(l)
			vals := m.logValues()
			var noop []Change
			if order := vals[efi.BootOrder]; order != nil {
				noop = append(noop, set("noop BootOrder", efi.BootOrder, efi.DefaultAttr, order.Data))
			}
			if db := vals[efi.Db]; db != nil {
				noop = append(noop, set("noop db", efi.Db, authAttr, signed(db.Data)))
			}
			for _, opts := range [][]Option{nil, {WithChanges(noop...)}} {
				p, err := Predict(l, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Changed) != 0 || len(p.Unpredictable) != 0 {
					t.Fatalf("changed %v, unpredictable %v", p.Changed, p.Unpredictable)
				}
				if len(p.Log.Events) != len(l.Events) {
					t.Fatalf("%d events, the log has %d", len(p.Log.Events), len(l.Events))
				}
				for i, e := range p.Log.Events {
					o := l.Events[i]
					if e.PCR != o.PCR || e.Type != o.Type || !bytes.Equal(e.Data, o.Data) || !e.Digests[tpm.SHA256].Equal(o.Digests[tpm.SHA256]) {
						t.Fatalf("event %d rebuilt as %v %x, the log has %v %x", i+1, e.Type, e.Data, o.Type, o.Data)
					}
				}
				for pcr, want := range ownReplay(l) {
					if pcr == 0 {
						continue // a StartupLocality event sets PCR 0's start
					}
					if got, _ := p.PCRs.Get(tpm.SHA256, pcr); !bytes.Equal(got, want) {
						t.Errorf("PCR %d predicted %x, the log replays to %x", pcr, got, want)
					}
				}
			}
			if len(m.boot) > 0 && len(m.config) == 5 {
				modelled++
			}
		})
	}
	if modelled < 2 {
		t.Fatalf("only %d logs had boot variables and five Secure Boot variables modelled", modelled)
	}
}

// TestNoChangeMatchesQuotedPCRs: the Windows GCP Shielded VM log carries
// the PCR values the VM's TPM quoted; predicting "no change" gives them.
func TestNoChangeMatchesQuotedPCRs(t *testing.T) {
	dir := os.Getenv("SLKIT_CACHE")
	if dir == "" {
		dir = "../.cache"
	}
	b, err := os.ReadFile(filepath.Join(dir, "eventlogs", "public", "windows_gcp_shielded_vm.json"))
	if err != nil {
		t.Skip("windows_gcp_shielded_vm.json missing: run make deps")
	}
	var v struct {
		Log struct {
			Raw  string
			PCRs []struct {
				Index     int
				Digest    string
				DigestAlg int
			}
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(v.Log.Raw)
	l, err := tpm.ParseEventLog(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Predict(l)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range v.Log.PCRs {
		alg := map[int]tpm.Alg{3: tpm.SHA1, 5: tpm.SHA256}[q.DigestAlg]
		got, ok := p.PCRs.Get(alg, q.Index)
		if alg == 0 || !ok {
			continue
		}
		want, _ := base64.StdEncoding.DecodeString(q.Digest)
		n++
		if !bytes.Equal(got, want) {
			t.Errorf("%s PCR %d: predicted %x, the TPM quoted %x", alg, q.Index, got, want)
		}
	}
	if n < 8 {
		t.Fatalf("only %d quoted PCRs compared", n)
	}
}
