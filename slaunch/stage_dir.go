package slaunch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// The files of an emulated stage directory (`slkit drtm stage --backend
// emulated --out DIR`, slaunch/README.md).
const (
	StageSLB        = "slb.bin"             // the 64 KiB SLB: emulated SKL and SLRT
	StageDCEBlob    = "dce-blob.bin"        // SLB[0:measured]: what the host's _TPM_Hash sequence hashes
	StageSLRT       = "slrt.bin"            // the SLRT alone
	StageLogPrefix  = "drtm-log-prefix.bin" // the DRTM log as the DCE hands it over
	StageExpected   = "expected.json"       // PCR17/18 and the events, as `slkit seal --pcr-values` reads them
	StagePrediction = "prediction.json"     // the whole Prediction (banks, log banks, actors)
)

// ErrStageDir is returned when the stage directory cannot be replaced
// because it holds files a stage does not write.
var ErrStageDir = errkind.New(errkind.Input, "stage directory")

// StageFile is one file of a stage directory.
type StageFile struct {
	Name string
	Data []byte
}

// Files returns the stage's files in the directory layout above.
func (st *EmulatedStage) Files() ([]StageFile, error) {
	slrt, err := st.SLRT.MarshalBinary()
	if err != nil {
		return nil, err
	}
	logPrefix, err := st.LogPrefix.MarshalBinary()
	if err != nil {
		return nil, err
	}
	expected, err := json.MarshalIndent(st.Prediction.Expected(), "", "  ")
	if err != nil {
		return nil, err
	}
	pred, err := json.MarshalIndent(st.Prediction, "", "  ")
	if err != nil {
		return nil, err
	}
	return []StageFile{
		{StageSLB, st.SLB}, {StageDCEBlob, st.DCEBlob}, {StageSLRT, slrt},
		{StageLogPrefix, logPrefix}, {StageExpected, append(expected, '\n')}, {StagePrediction, append(pred, '\n')},
	}, nil
}

// WriteDir writes the stage's files into a new directory next to dir and
// swaps it into place, so that dir holds the old set or the new one,
// never a mix. An existing dir may only hold a previous stage's files
// (ErrStageDir otherwise: nothing is replaced).
func (st *EmulatedStage) WriteDir(dir string) error {
	files, err := st.Files()
	if err != nil {
		return err
	}
	return writeStageDir(dir, files)
}

func writeStageDir(dir string, files []StageFile) (err error) {
	dir = filepath.Clean(dir)
	known := map[string]bool{}
	for _, f := range files {
		known[f.Name] = true
	}
	old, rerr := os.ReadDir(dir)
	switch {
	case rerr == nil:
		for _, de := range old {
			if !known[de.Name()] {
				return fmt.Errorf("%w %s: exists and holds %s, which a stage does not write: give a new or empty directory", ErrStageDir, dir, de.Name())
			}
		}
	case !errors.Is(rerr, fs.ErrNotExist):
		return rerr
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, f := range files {
		if err := fsys.WriteFile(fsys.OS{}, filepath.Join(tmp, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if rerr == nil {
		prev := tmp + ".old"
		if err := os.Rename(dir, prev); err != nil {
			return err
		}
		defer os.RemoveAll(prev)
	}
	return os.Rename(tmp, dir)
}

// HardwareChecklistFile is the checklist's file name in a hardware stage
// directory.
const HardwareChecklistFile = "checklist.txt"

// WriteDir writes what the hardware backend staged (the SLRT, TXT's
// OsSinitData, the SKINIT prediction, as far as it got) and the checklist
// of what a ring-0 launch still needs, into dir, as WriteDir of an
// emulated stage does: a new directory swapped into place.
func (st *HardwareStage) WriteDir(dir string) error {
	files := []StageFile{{HardwareChecklistFile, []byte(st.Checklist())}}
	if st.SLRT != nil {
		b, err := st.SLRT.MarshalBinary()
		if err != nil {
			return err
		}
		files = append(files, StageFile{"slrt.bin", b})
	}
	if st.OsSinitData != nil {
		b, err := st.OsSinitData.MarshalBinary()
		if err != nil {
			return err
		}
		files = append(files, StageFile{"os-sinit-data.bin", b})
	}
	if st.Prediction != nil {
		b, err := json.MarshalIndent(st.Prediction.Expected(), "", "  ")
		if err != nil {
			return err
		}
		files = append(files, StageFile{"expected.json", append(b, '\n')})
	}
	return writeStageDir(dir, files)
}

// Text is `slkit drtm stage --backend emulated`'s report of the stage
// written to dir: what the rig host hashes, then the prediction.
func (st *EmulatedStage) Text(dir string) string {
	return fmt.Sprintf("emulated DCE staged in %s: the rig host runs _TPM_Hash over %s (%d bytes)\n%s",
		dir, StageDCEBlob, len(st.DCEBlob), st.Prediction.Text())
}
