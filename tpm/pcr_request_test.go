package tpm_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/tpm"
)

func TestReadRequestParse(t *testing.T) {
	for _, tc := range []struct {
		name      string
		r         tpm.ReadRequest
		idx       []int
		banks     []tpm.Alg
		wantError string // a prefix of the error, "" for none
	}{
		{"defaults", tpm.ReadRequest{}, tpm.AllPCRs(), nil, ""},
		{"lists joined", tpm.ReadRequest{PCRs: []string{"9", "7,8", "0-1"}}, []int{0, 1, 7, 8, 9}, nil, ""},
		{"banks in order, SM3 kept", tpm.ReadRequest{Banks: []string{"SHA-256", "sm3_256", "sha1"}},
			tpm.AllPCRs(), []tpm.Alg{tpm.SHA256, tpm.SM3_256, tpm.SHA1}, ""},
		{"bad PCR", tpm.ReadRequest{PCRs: []string{"8", "24"}}, nil, nil, `PCR list "8,24": "24" is not a PCR index`},
		{"empty element", tpm.ReadRequest{PCRs: []string{"8,"}}, nil, nil, `PCR list "8,": an empty element`},
		{"bad bank", tpm.ReadRequest{Banks: []string{"sha256", "md5"}}, nil, nil, `--bank: unknown hash algorithm: "md5"`},
	} {
		idx, banks, err := tc.r.Parse()
		if tc.wantError != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantError) || !errors.Is(err, errkind.Input) || idx != nil || banks != nil {
				t.Errorf("%s: Parse = %v, %v, %v; want an input error starting %q", tc.name, idx, banks, err, tc.wantError)
			}
			continue
		}
		if err != nil || !slices.Equal(idx, tc.idx) || !slices.Equal(banks, tc.banks) {
			t.Errorf("%s: Parse = %v, %v, %v; want %v, %v", tc.name, idx, banks, err, tc.idx, tc.banks)
		}
	}
}

func TestExtendRequestParse(t *testing.T) {
	d256 := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name      string
		r         tpm.ExtendRequest
		want      tpm.Digests
		wantError string // the error's text, "" for none
	}{
		{"data", tpm.ExtendRequest{PCR: 16, Data: "f"}, nil, ""},
		{"digest", tpm.ExtendRequest{PCR: 23, Digest: d256}, tpm.Digests{tpm.SHA256: tpm.Digest(strings.Repeat("\xab", 32))}, ""},
		{"negative PCR", tpm.ExtendRequest{PCR: -1, Data: "f"}, nil, "--pcr -1: not a PCR index 0-23"},
		{"PCR too large", tpm.ExtendRequest{PCR: 24, Data: "f"}, nil, "--pcr 24: not a PCR index 0-23"},
		{"neither", tpm.ExtendRequest{PCR: 16}, nil, "pcr extend: give exactly one of --data FILE or --digest ALG:HEX"},
		{"both", tpm.ExtendRequest{PCR: 16, Data: "f", Digest: d256}, nil, "pcr extend: give exactly one of --data FILE or --digest ALG:HEX"},
		{"bad digest", tpm.ExtendRequest{PCR: 16, Digest: "sha256:abcd"}, nil, "--digest: bad digest: sha256 needs 32 hex-encoded bytes"},
	} {
		ds, err := tc.r.Parse()
		if tc.wantError != "" {
			if err == nil || err.Error() != tc.wantError || !errors.Is(err, errkind.Input) || ds != nil {
				t.Errorf("%s: Parse = %v, %v; want the input error %q", tc.name, ds, err, tc.wantError)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(ds, tc.want) {
			t.Errorf("%s: Parse = %v, %v; want %v", tc.name, ds, err, tc.want)
		}
	}
	// A bad digest keeps ParseDigestText's sentinel.
	if _, err := (tpm.ExtendRequest{PCR: 16, Digest: "x"}).Parse(); !errors.Is(err, tpm.ErrDigestText) {
		t.Errorf("bad digest: %v is not ErrDigestText", err)
	}
}
