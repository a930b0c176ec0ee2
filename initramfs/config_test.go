package initramfs

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestConfigRoundTrip(t *testing.T) {
	c := &Config{Version: 1, Run: DefaultRun(), OnFailure: Reboot, DebugShell: true, Modules: []string{"/lib/modules/efivarfs.ko"},
		Then: [][]string{{"pcr", "read", "8"}}}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 1,
  "run": [
    "launch",
    "--policy",
    "/etc/slkit/policy.json",
    "--policy-key",
    "/etc/slkit/policy.pub"
  ],
  "on_failure": "reboot",
  "debug_shell": true,
  "modules": [
    "/lib/modules/efivarfs.ko"
  ],
  "then": [
    [
      "pcr",
      "read",
      "8"
    ]
  ]
}
`
	if string(b) != want {
		t.Fatalf("Marshal:\n%s\nwant\n%s", b, want)
	}
	got, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %+v, want %+v", got, c)
	}
}

func TestParseConfigRefuses(t *testing.T) {
	for name, s := range map[string]string{
		"not JSON":       `run launch`,
		"unknown field":  `{"version":1,"run":["launch"],"on_failure":"poweroff","shell":true}`,
		"version":        `{"version":2,"run":["launch"],"on_failure":"poweroff"}`,
		"empty run":      `{"version":1,"run":[],"on_failure":"poweroff"}`,
		"empty command":  `{"version":1,"run":[""],"on_failure":"poweroff"}`,
		"NUL":            `{"version":1,"run":["la\u0000unch"],"on_failure":"poweroff"}`,
		"action":         `{"version":1,"run":["launch"],"on_failure":"shell"}`,
		"no action":      `{"version":1,"run":["launch"]}`,
		"relative mod":   `{"version":1,"run":["launch"],"on_failure":"poweroff","modules":["efivarfs.ko"]}`,
		"unclean mod":    `{"version":1,"run":["launch"],"on_failure":"poweroff","modules":["/lib/../x.ko"]}`,
		"trailing data":  `{"version":1,"run":["launch"],"on_failure":"poweroff"} {}`,
		"too large":      `{"version":1,"run":["launch"],"on_failure":"poweroff"}` + strings.Repeat(" ", maxConfigSize),
		"too many args":  `{"version":1,"run":["launch"` + strings.Repeat(`,"x"`, maxArgs) + `],"on_failure":"poweroff"}`,
		"invalid UTF-8":  "{\"version\":1,\"run\":[\"\xff\"],\"on_failure\":\"poweroff\"}",
		"run not a list": `{"version":1,"run":"launch","on_failure":"poweroff"}`,
		"empty then":     `{"version":1,"run":["launch"],"on_failure":"poweroff","then":[[]]}`,
		"then empty cmd": `{"version":1,"run":["launch"],"on_failure":"poweroff","then":[["pcr"],[""]]}`,
		"then NUL":       `{"version":1,"run":["launch"],"on_failure":"poweroff","then":[["a\u0000"]]}`,
		"too many then":  `{"version":1,"run":["launch"],"on_failure":"poweroff","then":[["x"]` + strings.Repeat(`,["x"]`, maxThen) + `]}`,
	} {
		if _, err := ParseConfig([]byte(s)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

func TestSplitRun(t *testing.T) {
	got := SplitRun("  unseal --in /etc/secret.sealed\t--fingerprint ")
	want := []string{"unseal", "--in", "/etc/secret.sealed", "--fingerprint"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SplitRun = %q, want %q", got, want)
	}
}

// FuzzParseConfig: whatever ParseConfig accepts marshals to bytes that
// parse back to the same configuration, and marshalling is stable.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"version":1,"run":["launch","--policy","/etc/slkit/policy.json"],"on_failure":"poweroff","debug_shell":false}`))
	f.Add([]byte(`{"version":1,"run":["pcr","read","8"],"on_failure":"reboot","debug_shell":true,"modules":["/lib/modules/a.ko"]}`))
	f.Add([]byte(`{"version":1,"run":null,"on_failure":"poweroff"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error not ErrConfig: %v", err)
			}
			return
		}
		m, err := c.Marshal()
		if err != nil {
			t.Fatalf("accepted config does not marshal: %v", err)
		}
		c2, err := ParseConfig(m)
		if err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s", err, m)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config: %+v vs %+v", c, c2)
		}
		m2, _ := c2.Marshal()
		if !bytes.Equal(m, m2) {
			t.Fatal("Marshal is not stable")
		}
	})
}
