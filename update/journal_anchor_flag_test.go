package update_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

// TestJournalAnchorFlag: --anchor none and a bad index open no TPM; an
// index opens it and gives the anchor's option once the anchor exists; a
// TPM that does not open is an error that says how to go on without it.
func TestJournalAnchorFlag(t *testing.T) {
	tt := tpmtest.Open(t)
	boom := errors.New("boom")
	done := errors.New("f failed")
	for _, c := range []struct {
		name, index string
		define      bool // define the journal's anchor first
		broken      bool // OpenTPM fails
		fErr        error
		opts        int    // options f gets
		err         string // "" for none; else the error's start
		opens       bool
		calls       bool // f is called
	}{
		{name: "none", index: "none", calls: true},
		{name: "bad", index: "0x81000001", err: `--anchor "0x81000001": want an NV index such as 0x0180534e`},
		{name: "broken TPM", index: "25187150", broken: true, opens: true,
			err: "the journal's anchor (--anchor 25187150) cannot be read: boom (--anchor none numbers generations from the state file alone)"},
		{name: "not defined yet", index: "0x0180534e", opens: true, calls: true},
		{name: "defined", index: "25187150", define: true, opens: true, calls: true, opts: 1},
		{name: "f fails", index: "0x0180534e", opens: true, calls: true, opts: 1, fErr: done, err: "f failed"},
	} {
		if c.define {
			if _, err := tpm.DefineAnchor(tt, tpm.DefaultJournalAnchorIndex); err != nil {
				t.Fatal(err)
			}
		}
		opened, called := false, false
		a := update.JournalAnchorFlag{Index: c.index, OpenTPM: func() (*tpm.Conn, error) {
			opened = true
			if c.broken {
				return nil, boom
			}
			return tpm.Open(tt.Spec, tt.Options...)
		}}
		err := a.With(func(opts []journal.Option) error {
			called = true
			if len(opts) != c.opts {
				t.Errorf("%s: %d options, want %d", c.name, len(opts), c.opts)
			}
			return c.fErr
		})
		switch {
		case c.err == "" && err != nil, c.err != "" && (err == nil || !strings.HasPrefix(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		case opened != c.opens || called != c.calls:
			t.Errorf("%s: opened %v, called %v; want %v, %v", c.name, opened, called, c.opens, c.calls)
		}
	}
	if opts, err := (&update.JournalAnchorFlag{Index: "none"}).Options(tt); opts != nil || err != nil {
		t.Errorf("Options none: %v %v", opts, err)
	}
	if opts, err := (&update.JournalAnchorFlag{Index: "0x0180534e"}).Options(tt); len(opts) != 1 || err != nil {
		t.Errorf("Options: %v %v", opts, err)
	}
	if _, err := (&update.JournalAnchorFlag{Index: "x"}).Options(tt); errkind.Of(err) != errkind.Input {
		t.Errorf("Options of a bad index: %v", err)
	}
}
