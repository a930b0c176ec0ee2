// Package strictjson is the one JSON decoder slkit uses for signed JSON
// (the launch policy's DSSE envelope and the policy document it carries)
// and for the other JSON files whose content decides what slkit does
// (sealed files).
//
// encoding/json alone is lenient in ways that let two readers of the same
// bytes see two documents: it matches object keys to struct fields
// case-insensitively (Unicode simple folding, so "Payload", "PAYLOAD" and
// "paylo\u017fd"-style spellings all fill "payload"), and it keeps the last
// of duplicate keys. Unmarshal accepts only documents in which:
//
//   - the top level is one object, and nothing follows it;
//   - no object has two keys that are equal under Unicode case folding;
//   - every key of an object decoded into a struct is spelled exactly as
//     one of the struct's JSON field names (no unknown fields, no other
//     spelling); maps take any keys;
//   - nesting is at most MaxDepth deep.
//
// Values of types that decode themselves (json.Unmarshaler) get the
// duplicate-key check; their own field names are theirs to check.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"
)

// MaxDepth bounds the nesting of objects and arrays.
const MaxDepth = 16

// Unmarshal decodes b, one JSON object, into v (a pointer) under the rules
// of the package documentation.
func Unmarshal(b []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("strictjson: Unmarshal needs a non-nil pointer")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err == io.EOF {
		return errors.New("empty document")
	}
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	if err := walkObject(dec, rv.Type().Elem(), 1); err != nil {
		if err == io.EOF {
			return errors.New("unexpected end of JSON input")
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON document")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// unmarshaler is the interface of types that decode themselves.
var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// schema returns what a value of type t accepts: for a struct its exact
// field names and their types, for a map or slice its element type. t is
// nil where nothing is known (an interface, a self-decoding type).
func schema(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		if t.Implements(unmarshaler) {
			return nil
		}
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(unmarshaler) || t.Kind() == reflect.Interface {
		return nil
	}
	return t
}

// walkValue checks the value whose first token is tok, to be decoded into
// t (nil: unknown).
func walkValue(dec *json.Decoder, tok json.Token, t reflect.Type, depth int) error {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= MaxDepth {
		return fmt.Errorf("nested more than %d levels", MaxDepth)
	}
	t = schema(t)
	switch d {
	case '{':
		return walkObject(dec, t, depth+1)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if err := walkValue(dec, tok, elem, depth+1); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ]
		return err
	}
	return fmt.Errorf("unexpected %v", d)
}

// walkObject checks an object's keys (its '{' is read) against t.
func walkObject(dec *json.Decoder, t reflect.Type, depth int) error {
	t = schema(t)
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = fieldsOf(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, ok := tok.(string)
		if !ok {
			return errors.New("object key is not a string")
		}
		f := fold(k)
		if prev, dup := seen[f]; dup {
			if prev == k {
				return fmt.Errorf("duplicate key %q", clip(k))
			}
			return fmt.Errorf("keys %q and %q differ only in case", clip(prev), clip(k))
		}
		seen[f] = k
		vt := elem
		if fields != nil {
			ft, known := fields[k]
			if !known {
				return fmt.Errorf("unknown field %q (field names are case-sensitive)", clip(k))
			}
			vt = ft
		}
		tok, err = dec.Token()
		if err != nil {
			return err
		}
		if err := walkValue(dec, tok, vt, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	return err
}

// fieldsOf maps a struct's JSON names, as encoding/json derives them
// (the tag's name, else the field's; embedded structs without a tag
// promote their fields), to their types.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			et := sf.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range fieldsOf(et) {
					if _, shadowed := out[k]; !shadowed {
						out[k] = v
					}
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out[name] = sf.Type
	}
	return out
}

// fold maps a key to a canonical form under Unicode simple case folding,
// the equivalence encoding/json matches keys by (strings.EqualFold): each
// rune becomes the smallest rune of its folding orbit.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		b.WriteRune(m)
	}
	return b.String()
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}
