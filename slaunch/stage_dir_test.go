package slaunch

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

// TestStageWriteDir: the stage directory holds exactly the six files,
// whose bytes are the stage's; staging again replaces the set whole; a
// directory holding anything else is refused and left as it is.
func TestStageWriteDir(t *testing.T) {
	kernel := slaunchtest.Kernel(0x020F, 0x10, 0)
	stage := func(cmdline string) *EmulatedStage {
		st, err := StageEmulated(Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)), Cmdline: cmdline}, []tpm.Alg{tpm.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	dir := filepath.Join(t.TempDir(), "stage")
	st := stage("one")
	if err := st.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	es, _ := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "dce-blob.bin drtm-log-prefix.bin expected.json prediction.json slb.bin slrt.bin" {
		t.Fatalf("files %v", names)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, StageSLB)); !bytes.Equal(b, st.SLB) {
		t.Error("slb.bin is not the SLB")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, StageDCEBlob)); !bytes.Equal(b, st.DCEBlob) {
		t.Error("dce-blob.bin is not the DCE blob")
	}
	before, _ := os.ReadFile(filepath.Join(dir, StageExpected))
	if err := stage("two").WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, StageExpected)); bytes.Equal(after, before) {
		t.Error("expected.json was not replaced")
	}
	os.WriteFile(filepath.Join(dir, "precious"), []byte("keep"), 0o644)
	if err := stage("three").WriteDir(dir); !errors.Is(err, ErrStageDir) || !strings.Contains(err.Error(), "holds precious") {
		t.Fatalf("foreign file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "precious")); string(b) != "keep" {
		t.Fatal("precious was touched")
	}
}
