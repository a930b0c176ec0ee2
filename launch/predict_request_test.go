package launch

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

// TestPredictRequest: the banks default to the start file's, then to
// tpm.CommonBanks; an unreadable start file, start values without a PCR
// the profile extends and a kernel a dynamic launch cannot take are
// named; an unknown DRTM backend is an input error.
func TestPredictRequest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	z := strings.Repeat("00", 20)
	full := write("full.json", `{"banks": {"sha1": {"8": "`+z+`", "9": "`+z+`"}}}`)
	partial := write("partial.json", `{"banks": {"sha1": {"8": "`+z+`"}}}`)
	missing := filepath.Join(dir, "missing")
	plain := &Entry{Kernel: Image{R: strings.NewReader("kernel"), Size: 6}, Cmdline: "quiet"}
	bz := slaunchtest.Kernel(0x020F, 0x10, 0)
	bzImage := &Entry{Kernel: Image{R: bytes.NewReader(bz), Size: int64(len(bz))}, Cmdline: "quiet"}
	for _, c := range []struct {
		name      string
		req       PredictRequest
		entry     *Entry
		banks     []tpm.Alg
		named     string // the *fsys.InputError's path, of Predictor or Predict
		is        error
		inputText string // Predictor's errkind.Input error
	}{
		{name: "default banks", req: PredictRequest{}, entry: plain, banks: tpm.CommonBanks},
		{name: "banks given", req: PredictRequest{Banks: []tpm.Alg{tpm.SHA384}, Start: full}, entry: plain, banks: []tpm.Alg{tpm.SHA384},
			named: full, is: ErrStart},
		{name: "the start file's banks", req: PredictRequest{Start: full}, entry: plain, banks: []tpm.Alg{tpm.SHA1}},
		{name: "start lacks PCR 9", req: PredictRequest{Start: partial}, entry: plain, named: partial, is: ErrStart},
		{name: "start missing", req: PredictRequest{Start: missing}, named: missing},
		{name: "hardware", req: PredictRequest{DRTM: "hardware"},
			inputText: `predict: --drtm "hardware": want emulated (the hardware PCRs depend on the DCE: slkit drtm stage --backend hardware)`},
		{name: "emulated DRTM", req: PredictRequest{DRTM: "emulated"}, entry: bzImage, banks: tpm.CommonBanks},
		{name: "not a bzImage", req: PredictRequest{Kernel: "/boot/vmlinuz", DRTM: "emulated"}, entry: plain,
			named: "--kernel /boot/vmlinuz", is: slaunch.ErrMalformed},
	} {
		pr, err := c.req.Predictor()
		if c.inputText != "" {
			if err == nil || err.Error() != c.inputText || !errors.Is(err, errkind.Input) || pr != nil {
				t.Errorf("%s: %v, want %q (an input error)", c.name, err, c.inputText)
			}
			continue
		}
		var p *Prediction
		if err == nil {
			p, err = pr.Predict(c.entry, MeasuredProfile())
		}
		var in *fsys.InputError
		switch {
		case c.named != "":
			if !errors.As(err, &in) || in.Path != c.named || c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%s: %v, want an input error naming %s", c.name, err, c.named)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !slices.Equal(p.Banks, c.banks):
			t.Errorf("%s: banks %v, want %v", c.name, p.Banks, c.banks)
		}
	}
}
