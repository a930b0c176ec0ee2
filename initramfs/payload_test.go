package initramfs

import (
	"errors"
	"testing"
)

func TestParseAdd(t *testing.T) {
	p, err := ParseAdd("/host/a:b/vmlinuz:/boot/vmlinuz")
	if err != nil || p.Src != "/host/a:b/vmlinuz" || p.Dst != "/boot/vmlinuz" {
		t.Fatalf("ParseAdd = %+v, %v", p, err)
	}
	for _, spec := range []string{
		"vmlinuz",              // no DST
		":/boot/vmlinuz",       // no SRC
		"vmlinuz:",             // empty DST
		"vmlinuz:boot/vmlinuz", // relative DST
		"vmlinuz:/boot/../x",   // not clean
		"vmlinuz:/boot/",       // not clean
		"vmlinuz:/",            // root
		"vmlinuz:/init",        // reserved
		"x:/etc/slkit/policy.json",
		"x:/dev/tpm0",
		"x:/lib/modules/a.ko",
		"x:/bbin/bb",
	} {
		if _, err := ParseAdd(spec); !errors.Is(err, ErrInput) {
			t.Errorf("ParseAdd(%q): got %v, want ErrInput", spec, err)
		}
	}
}
