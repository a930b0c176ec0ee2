package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Text describes the verified policy file name: the key, the version, and
// one line per entry (images with their SHA-256 shortened).
func (v *Verified) Text(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: signature OK (key %s), policy version %d, %d entries:\n", name, v.KeyID, v.Policy.Version, len(v.Policy.Entries))
	for _, pe := range v.Policy.Entries {
		initrd := "no initrd"
		if pe.Initrd != nil {
			initrd = fmt.Sprintf("initrd %s sha256 %s…", pe.Initrd.Path, pe.Initrd.SHA256[:8])
		}
		drtm := "DRTM optional"
		if pe.RequireDRTM {
			drtm = "DRTM required"
		}
		fmt.Fprintf(&b, "  %s: kernel %s sha256 %s…, %s, cmdline %q, profile %s, %s\n",
			pe.Name, pe.Kernel.Path, pe.Kernel.SHA256[:8], initrd, pe.Cmdline, pe.Profile, drtm)
	}
	return b.String()
}

// MarshalJSON writes {"verified":true,"keyid":…,"policy":{…}} (`slkit
// policy verify --json`): a Verified exists only once the signature
// verified.
func (v *Verified) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Verified bool    `json:"verified"`
		KeyID    string  `json:"keyid"`
		Policy   *Policy `json:"policy"`
	}{true, v.KeyID, v.Policy})
}
