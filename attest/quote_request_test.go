package attest

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
)

func ptr(s string) *string { return &s }

// collected is the configuration Collect would use with q's options.
func collected(q *CollectArgs) collectConfig {
	cfg := collectConfig{pcrs: AllPCRs}
	for _, o := range q.Options {
		o(&cfg)
	}
	return cfg
}

func TestQuoteRequestPrepare(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fw, secret := write("fw.bin", "firmware log"), write("secret", "s3cret")
	nonceFile := write("nonce", "  0102030405060708\n")
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8}

	r := QuoteRequest{Nonce: ptr("0102030405060708"), PCRs: "0-3,7", FirmwareLog: &fw,
		PreLaunchLog: ptr(""), DRTMLog: ptr(""), Activation: secret}
	q, err := r.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	cfg := collected(q)
	if !bytes.Equal(q.Nonce, want) || !slices.Equal(cfg.pcrs, []int{0, 1, 2, 3, 7}) ||
		string(cfg.logs.Firmware) != "firmware log" || cfg.logs.PreLaunch != nil || cfg.logs.DRTM != nil ||
		string(cfg.activation) != "s3cret" || !slices.Equal(q.Logs, []string{fw}) {
		t.Errorf("Prepare = nonce %x, %+v, logs read %v", q.Nonce, cfg, q.Logs)
	}

	// The nonce from a file; no log, no activation.
	r = QuoteRequest{NonceFile: &nonceFile, PCRs: "0-23", FirmwareLog: ptr(""), PreLaunchLog: ptr(""), DRTMLog: ptr("")}
	if q, err = r.Prepare(); err != nil {
		t.Fatal(err)
	}
	if cfg := collected(q); !bytes.Equal(q.Nonce, want) || len(cfg.pcrs) != 24 || cfg.activation != nil || len(q.Logs) != 0 {
		t.Errorf("Prepare with a nonce file = nonce %x, %+v, logs read %v", q.Nonce, cfg, q.Logs)
	}

	missing := filepath.Join(dir, "missing")
	noLogs := QuoteRequest{Nonce: ptr("0102030405060708"), PCRs: "0-23", FirmwareLog: ptr(""), PreLaunchLog: ptr(""), DRTMLog: ptr("")}
	for _, tc := range []struct {
		name      string
		edit      func(*QuoteRequest)
		want      string
		inputFile string // the file an *fsys.InputError names, if one
	}{
		{"no nonce", func(r *QuoteRequest) { r.Nonce = nil }, "quote: give --nonce HEX or --nonce-file FILE", ""},
		{"both nonces", func(r *QuoteRequest) { r.NonceFile = &nonceFile }, "quote: give --nonce HEX or --nonce-file FILE", ""},
		{"nonce not hex", func(r *QuoteRequest) { r.Nonce = ptr("0102zz") }, "--nonce: bad nonce: not hex", ""},
		{"nonce short", func(r *QuoteRequest) { r.Nonce = ptr("0102") }, "--nonce: bad nonce: 2 bytes", ""},
		{"nonce file missing", func(r *QuoteRequest) { r.Nonce, r.NonceFile = nil, &missing }, missing, missing},
		{"pcrs empty", func(r *QuoteRequest) { r.PCRs = "" }, `--pcrs "": want PCR indices 0-23`, ""},
		{"pcrs out of range", func(r *QuoteRequest) { r.PCRs = "24" }, `--pcrs "24": want PCR indices 0-23`, ""},
		{"given log missing", func(r *QuoteRequest) { r.PreLaunchLog = &missing }, missing, missing},
		{"activation missing", func(r *QuoteRequest) { r.Activation = missing }, missing, missing},
		// The nonce is checked first.
		{"order", func(r *QuoteRequest) { r.Nonce, r.PCRs = ptr("zz"), "" }, "--nonce: bad nonce", ""},
	} {
		r := noLogs
		tc.edit(&r)
		q, err := r.Prepare()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || q != nil {
			t.Errorf("%s: Prepare = %v, %v; want an error starting %q", tc.name, q, err, tc.want)
			continue
		}
		var ie *fsys.InputError
		if tc.inputFile != "" && (!errors.As(err, &ie) || ie.Path != tc.inputFile) {
			t.Errorf("%s: %v is not an input error naming %s", tc.name, err, tc.inputFile)
		}
		if tc.inputFile == "" && !errors.Is(err, errkind.Input) {
			t.Errorf("%s: %v is not an input error", tc.name, err)
		}
	}
}

func TestQuoteRequestSources(t *testing.T) {
	var r QuoteRequest
	if got, want := r.Sources(), DefaultLogSources(); got != want {
		t.Errorf("no log given: Sources = %+v, want %+v", got, want)
	}
	r = QuoteRequest{FirmwareLog: ptr("/fw"), DRTMLog: ptr("")}
	want := DefaultLogSources()
	want.Firmware, want.DRTM = LogSource{Path: "/fw"}, LogSource{}
	if got := r.Sources(); got != want {
		t.Errorf("Sources = %+v, want %+v", got, want)
	}
}
