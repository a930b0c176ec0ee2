package efi

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Variable is a variable's value as read back: attributes (without
// AppendWrite, which is not a stored attribute) and data.
type Variable struct {
	Name Name
	Attr Attr
	Data []byte
}

type variableJSON struct {
	Name       string   `json:"name"`
	GUID       GUID     `json:"guid"`
	Attributes uint32   `json:"attributes"`
	AttrNames  []string `json:"attribute_names"`
	Size       int      `json:"size"`
	Data       string   `json:"data"`
}

// MarshalJSON writes {"name","guid","attributes","attribute_names","size","data"(hex)}.
func (v *Variable) MarshalJSON() ([]byte, error) {
	names := v.Attr.Names()
	if names == nil {
		names = []string{}
	}
	return json.Marshal(variableJSON{v.Name.Name, v.Name.GUID, uint32(v.Attr), names, len(v.Data), hex.EncodeToString(v.Data)})
}

// Text is the variable as `slkit efi vars get` prints it: name,
// attributes, size and data in hex, then what Describe decodes.
func (v *Variable) Text() string {
	s := fmt.Sprintf("%s\nattributes: %s (%#08x)\nsize: %d\ndata: %s\n", v.Name, v.Attr, uint32(v.Attr), len(v.Data), hex.EncodeToString(v.Data))
	if d := Describe(v); d != "" {
		s += d + "\n"
	}
	return s
}

// ListText lists variables one a line: name, attributes and size.
func ListText(vs []*Variable) string {
	var b strings.Builder
	for _, x := range vs {
		fmt.Fprintf(&b, "%-60s %-12s %6d\n", x.Name, x.Attr, len(x.Data))
	}
	return b.String()
}
