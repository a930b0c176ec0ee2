package tpm

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// TestSealTargetSpec: the flags become the SealTarget, the values file
// read; a bad bank or list is an input error naming its flag, a bad
// values file an *fsys.InputError naming the file.
func TestSealTargetSpec(t *testing.T) {
	dir := t.TempDir()
	values := filepath.Join(dir, "values.json")
	os.WriteFile(values, []byte(`{"banks":{"sha256":{"17":"`+strings.Repeat("ab", 32)+`"}}}`), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"banks":{"sha256":{"17":"ab"}}}`), 0o600)
	spec := func(bank, pcrs, file string) SealTargetSpec {
		return SealTargetSpec{Bank: bank, PCRs: pcrs, PCRsFlag: "seal-pcrs", Example: "17,18", ValuesFile: file}
	}
	for _, c := range []struct {
		name string
		s    SealTargetSpec
		want *SealTarget // nil: refused
		err  string      // the error's start
		file bool        // the refusal is an *fsys.InputError
	}{
		{name: "current", s: spec("sha256", "8,9", ""), want: &SealTarget{Bank: SHA256, PCRs: []int{8, 9}}},
		{name: "sha1 range", s: spec("sha1", "17-18", ""), want: &SealTarget{Bank: SHA1, PCRs: []int{17, 18}}},
		{name: "values", s: spec("sha256", "17", values), want: &SealTarget{Bank: SHA256, PCRs: []int{17}, ValuesFile: values}},
		{name: "bad bank", s: spec("md5", "8", ""), err: "--bank: "},
		{name: "no PCR", s: spec("sha256", "", ""), err: `--seal-pcrs "": want a list such as 17,18: no PCR`},
		{name: "bad list", s: spec("sha256", "8,x", ""), err: `--seal-pcrs "8,x": want a list such as 17,18: `},
		{name: "missing values", s: spec("sha256", "17", filepath.Join(dir, "missing")), err: filepath.Join(dir, "missing") + ": ", file: true},
		{name: "bad values", s: spec("sha256", "17", bad), err: bad + ": ", file: true},
	} {
		st, err := c.s.Target()
		var ie *fsys.InputError
		switch {
		case c.want != nil && (err != nil || st.Bank != c.want.Bank || !reflect.DeepEqual(st.PCRs, c.want.PCRs) || st.ValuesFile != c.want.ValuesFile || (st.Values != nil) != (c.want.ValuesFile != "")):
			t.Errorf("%s: %+v, %v; want %+v", c.name, st, err, c.want)
		case c.want == nil && (err == nil || st != nil || !strings.HasPrefix(err.Error(), c.err) || errors.As(err, &ie) != c.file || !c.file && errkind.Of(err) != errkind.Input):
			t.Errorf("%s: %v (kind %v), want %q", c.name, err, errkind.Of(err), c.err)
		}
	}
}
