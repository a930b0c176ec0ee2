package layering_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/slkit/slkit"

type pkg struct {
	ImportPath string
	Deps       []string
}

// list runs `go list -deps -json` (with build tags) on patterns.
func list(t *testing.T, tags string, patterns ...string) []pkg {
	t.Helper()
	args := []string{"list", "-json=ImportPath,Deps"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, patterns...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// notProduct reports why path is rig or test code ("" when it is not).
func notProduct(path string) string {
	rel := strings.TrimPrefix(path, module+"/")
	switch {
	case path == "testing" || strings.HasPrefix(path, "testing/"):
		return "the testing package"
	case strings.Contains(path, "go-tpm-tools/simulator"):
		return "the TPM simulator"
	case rel == path:
		return ""
	case rel == "rig" || strings.HasPrefix(rel, "rig/"):
		return "the rig"
	case isTestHelper(rel):
		return "a test helper"
	case strings.HasPrefix(rel, "internal/layering"):
		return "this test"
	}
	return ""
}

// isTestHelper reports whether a package path lies in a test helper: a
// directory named after its parent plus "test" (tpm/tpmtest,
// attest/attesttest, efi/efitest/crashfs), not a package that merely ends
// in "test" (attest).
func isTestHelper(rel string) bool {
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		if parts[i] == parts[i-1]+"test" {
			return true
		}
	}
	return false
}

// TestProductImportsNoRig: no product package depends, even indirectly,
// on the rig, a test helper or the simulator.
func TestProductImportsNoRig(t *testing.T) {
	var product []string
	for _, p := range list(t, "", "./...") {
		if notProduct(p.ImportPath) == "" {
			product = append(product, p.ImportPath)
		}
	}
	if len(product) < 10 {
		t.Fatalf("only %d product packages found: %v", len(product), product)
	}
	check := func(tags string, pkgs []pkg) {
		for _, p := range pkgs {
			if notProduct(p.ImportPath) != "" {
				continue
			}
			for _, d := range p.Deps {
				if why := notProduct(d); why != "" {
					t.Errorf("%s (tags %q) depends on %s, %s", p.ImportPath, tags, d, why)
				}
			}
		}
	}
	for _, p := range product {
		check("", list(t, "", p))
	}
	check("slkit_image", list(t, "slkit_image", "./cmd/slkit"))
}

// TestImageHasNoVerifier: the slkit built into images (-tags slkit_image)
// quotes and activates but does not verify, so it links neither the
// verifier package nor go-attestation; the host build has both (the
// check can fail).
func TestImageHasNoVerifier(t *testing.T) {
	heavy := func(d string) bool {
		return d == module+"/attest/verifier" || strings.HasPrefix(d, "github.com/google/go-attestation/")
	}
	for _, c := range []struct {
		tags string
		want bool
	}{{"slkit_image", false}, {"", true}} {
		got := false
		for _, p := range list(t, c.tags, "./cmd/slkit") {
			if p.ImportPath == module+"/cmd/slkit" {
				for _, d := range p.Deps {
					got = got || heavy(d)
				}
			}
		}
		if got != c.want {
			t.Errorf("cmd/slkit with tags %q links the verifier or go-attestation: %v, want %v", c.tags, got, c.want)
		}
	}
}

// TestNotProductSorts keeps the classification honest: it must catch the
// packages it is meant to catch.
func TestNotProductSorts(t *testing.T) {
	for path, want := range map[string]bool{
		module + "/rig/qemu":                       true,
		module + "/rig/rigtest":                    true,
		module + "/tpm/tpmtest":                    true,
		module + "/efi/efitest/crashfs":            true,
		module + "/slaunch/slaunchtest":            true,
		module + "/attest/attesttest":              true,
		module + "/attest":                         false,
		module + "/attest/verifier":                false,
		"github.com/google/go-tpm-tools/simulator": true,
		"testing":                       true,
		module + "/tpm":                 false,
		module + "/slaunch/hostchan":    false,
		module + "/launch/policy":       false,
		"github.com/google/go-tpm/tpm2": false,
	} {
		if got := notProduct(path) != ""; got != want {
			t.Errorf("notProduct(%s) = %v, want %v", path, got, want)
		}
	}
}
