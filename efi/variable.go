package efi

import (
	"encoding/hex"
	"encoding/json"
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
