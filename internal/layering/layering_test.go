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
	case strings.HasSuffix(rel, "test") || strings.Contains(rel, "test/") || strings.HasSuffix(rel, "/crashfs"):
		return "a test helper"
	case strings.HasPrefix(rel, "internal/layering"):
		return "this test"
	}
	return ""
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
		if p == module+"/cmd/slkit" {
			continue // the host build has the rig command; checked with the image tag below
		}
		check("", list(t, "", p))
	}
	check("slkit_image", list(t, "slkit_image", "./cmd/slkit"))
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
