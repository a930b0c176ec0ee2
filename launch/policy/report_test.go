package policy

import (
	"encoding/json"
	"testing"
)

// TestReports: the reports' JSON is that of a map of the same keys (so
// the keys stay in alphabetical order), and their text is one line.
func TestReports(t *testing.T) {
	for _, tc := range []struct {
		name   string
		report interface{ Text() string }
		asMap  map[string]any
		text   string
	}{
		{"keygen", KeygenReport{KeyID: "ab12", Private: "k", Public: "k.pub"},
			map[string]any{"private": "k", "public": "k.pub", "keyid": "ab12"},
			"wrote k (private, 0600) and k.pub; key id ab12\n"},
		{"sign", SignReport{Entries: 2, In: "p.json", KeyID: "ab12", Out: "p.signed"},
			map[string]any{"in": "p.json", "out": "p.signed", "entries": 2, "keyid": "ab12"},
			"signed p.json (2 entries) with key ab12: p.signed\n"},
	} {
		got, err := json.MarshalIndent(tc.report, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.MarshalIndent(tc.asMap, "", "  ")
		if string(got) != string(want) {
			t.Errorf("%s: JSON\n%s\nwant\n%s", tc.name, got, want)
		}
		if s := tc.report.Text(); s != tc.text {
			t.Errorf("%s: Text = %q, want %q", tc.name, s, tc.text)
		}
	}
}
