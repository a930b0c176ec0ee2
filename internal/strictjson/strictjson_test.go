package strictjson

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

type inner struct {
	Sig   string `json:"sig"`
	KeyID string `json:"keyid,omitempty"`
}

type doc struct {
	Type   string            `json:"payloadType"`
	Items  []inner           `json:"signatures"`
	Labels map[string]string `json:"labels,omitempty"`
	Opt    *inner            `json:"opt,omitempty"`
	Raw    json.RawMessage   `json:"raw,omitempty"`
	Skip   string            `json:"-"`
	Plain  int
}

func TestAccepts(t *testing.T) {
	var d doc
	in := `{"payloadType":"t","signatures":[{"sig":"a","keyid":"k"}],"labels":{"Any":"x","any2":"y"},"opt":{"sig":"o"},"raw":{"whatever":[1,{"X":2}]},"Plain":3}`
	if err := Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.Type != "t" || d.Items[0].KeyID != "k" || d.Labels["Any"] != "x" || d.Opt.Sig != "o" || d.Plain != 3 {
		t.Fatalf("%+v", d)
	}
}

func TestRefuses(t *testing.T) {
	deep := strings.Repeat(`{"labels":`, 0) + `{"raw":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`
	for name, in := range map[string]string{
		"case variant":           `{"PayloadType":"t"}`,
		"case duplicate":         `{"payloadType":"a","payloadtype":"b"}`,
		"long s":                 `{"\u017fignatures":[]}`,
		"Kelvin sign duplicate":  `{"labels":{"k":"1","\u212a":"2"}}`,
		"exact duplicate":        `{"payloadType":"a","payloadType":"b"}`,
		"nested case variant":    `{"signatures":[{"Sig":"a"}]}`,
		"nested in pointer":      `{"opt":{"SIG":"a"}}`,
		"unknown key":            `{"payloadType":"a","x":1}`,
		"skipped field":          `{"Skip":"a"}`,
		"duplicate in a map":     `{"labels":{"a":"1","a":"2"}}`,
		"duplicate in raw":       `{"raw":{"a":1,"A":2}}`,
		"trailing data":          `{"payloadType":"a"} {}`,
		"not an object":          `["payloadType"]`,
		"empty":                  ``,
		"too deep":               deep,
		"field name, wrong case": `{"plain":3}`,
	} {
		var d doc
		if err := Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s: accepted %s", name, in)
		}
	}
}

// FuzzUnmarshal: whatever Unmarshal accepts, encoding/json reads the same
// way (the point of the package: no two readings), it has no two keys in
// one object equal under strings.EqualFold (checked here by an
// independent pairwise walk), and it survives a round trip.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"payloadType":"t","signatures":[{"sig":"a","keyid":"k"}],"labels":{"a":"b"},"opt":{"sig":"o"},"raw":[1,2],"Plain":1}`,
		`{"payloadType":"a","PayloadType":"b"}`,
		`{"labels":{"k":"1","\u212a":"2"}}`,
		`{"raw":{"a":{"b":{"c":[[[]]]}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d doc
		if err := Unmarshal(b, &d); err != nil {
			return
		}
		var plain doc
		if err := json.Unmarshal(b, &plain); err != nil || !reflect.DeepEqual(d, plain) {
			t.Fatalf("encoding/json reads it differently: %v\n%+v\n%+v", err, d, plain)
		}
		if k := foldDuplicate(t, b); k != "" {
			t.Fatalf("accepted a document with keys equal under case folding: %q", k)
		}
		// (json.RawMessage is compacted and HTML-escaped by Marshal: compare
		// what two rounds of Marshal give)
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var again doc
		if err := Unmarshal(out, &again); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("round trip: %s became %s", out, out2)
		}
	})
}

// foldDuplicate returns a key that has a strings.EqualFold twin in the same
// object, "" if none.
func foldDuplicate(t *testing.T, b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	var stack [][]string
	var isObj []bool
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			t.Fatalf("accepted invalid JSON: %v", err)
		}
		if expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack, isObj = stack[:len(stack)-1], isObj[:len(isObj)-1]
				expectKey = len(isObj) > 0 && isObj[len(isObj)-1]
				continue
			}
			k := tok.(string)
			for _, o := range stack[len(stack)-1] {
				if strings.EqualFold(o, k) {
					return k
				}
			}
			stack[len(stack)-1] = append(stack[len(stack)-1], k)
			expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack, isObj = append(stack, nil), append(isObj, true)
			expectKey = true
			continue
		case json.Delim('['):
			stack, isObj = append(stack, nil), append(isObj, false)
			continue
		case json.Delim(']'):
			stack, isObj = stack[:len(stack)-1], isObj[:len(isObj)-1]
		}
		expectKey = len(isObj) > 0 && isObj[len(isObj)-1]
	}
}
