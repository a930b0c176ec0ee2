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
		"bare refusal":   `{"version":1,"run":["launch"],"on_failure":"poweroff","then":[["!"]]}`,
		"refused empty":  `{"version":1,"run":["launch"],"on_failure":"poweroff","then":[["!",""]]}`,
		"on_success":     `{"version":1,"run":["launch"],"on_failure":"poweroff","on_success":"shell"}`,
		"jobs, no file":  `{"version":1,"run":["launch"],"on_failure":"poweroff","jobs":{"a":{"steps":[["x"]]}}}`,
		"file, no jobs":  `{"version":1,"run":["launch"],"on_failure":"poweroff","job_request":"/run/j"}`,
		"relative file":  `{"version":1,"run":["launch"],"on_failure":"poweroff","job_request":"run/j","jobs":{"a":{"steps":[["x"]]}}}`,
		"job name":       `{"version":1,"run":["launch"],"on_failure":"poweroff","job_request":"/run/j","jobs":{"A b":{"steps":[["x"]]}}}`,
		"job no steps":   `{"version":1,"run":["launch"],"on_failure":"poweroff","job_request":"/run/j","jobs":{"a":{"steps":[]}}}`,
		"job action":     `{"version":1,"run":["launch"],"on_failure":"poweroff","job_request":"/run/j","jobs":{"a":{"steps":[["x"]],"on_success":"halt"}}}`,
		"job empty cmd":  `{"version":1,"run":["launch"],"on_failure":"poweroff","job_request":"/run/j","jobs":{"a":{"steps":[[""]]}}}`,
	} {
		if _, err := ParseConfig([]byte(s)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

// TestConfigJobs: jobs and the refused-step marker round-trip, and a job
// request names one of them or nothing.
func TestConfigJobs(t *testing.T) {
	c := &Config{Version: 1, Run: []string{"efi", "mount"}, OnFailure: PowerOff, OnSuccess: PowerOff,
		Then:       [][]string{{RefusedStep, "unseal", "/other"}},
		Jobs:       map[string]Job{"round-trip": {Steps: [][]string{{"drtm", "leave"}}}, "update": {Steps: [][]string{{"x"}}, OnSuccess: Reboot}},
		JobRequest: "/run/disk/jobs"}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfig(b)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if a := got.SuccessAction(nil); a != PowerOff {
		t.Errorf("without a job: %s", a)
	}
	u := got.Jobs["update"]
	if a := got.SuccessAction(&u); a != Reboot {
		t.Errorf("update job: %s", a)
	}
	for _, tc := range []struct{ req, name, rest, err string }{
		{"", "", "", ""},
		{"\n \n", "", "", ""},
		{"update\n", "update", "", ""},
		{" round-trip \n\nupdate", "round-trip", "update\n", ""},
		{"nope\nupdate\n", "", "", `job "nope" is not one of this image's jobs (round-trip, update)`},
		{strings.Repeat("x", MaxJobRequest+1), "", "", "at most 4096"},
	} {
		name, rest, err := got.NextJob([]byte(tc.req))
		if name != tc.name || rest != tc.rest || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("NextJob(%.20q) = %q, %q, %v; want %q, %q, %q", tc.req, name, rest, err, tc.name, tc.rest, tc.err)
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
	f.Add([]byte(`{"version":1,"run":["efi","mount"],"on_failure":"poweroff","then":[["!","unseal","/x"]],"on_success":"reboot",` +
		`"jobs":{"a":{"steps":[["drtm","leave"]],"on_success":"poweroff"}},"job_request":"/run/disk/jobs"}`))
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

// FuzzNextJob feeds arbitrary job request files (they live on a disk
// anyone may write) to NextJob: a name it returns is one of the image's
// jobs and the request's first non-blank line; what remains parses to the
// rest of the names, in order; an oversized request is refused.
func FuzzNextJob(f *testing.F) {
	c := &Config{Jobs: map[string]Job{"round-trip": {}, "update": {}, "a": {}}}
	for _, s := range []string{"update\n", "round-trip\nupdate\n", " a \n\n\nupdate", "nope\n", "\n", "update\r\nx"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		name, rest, err := c.NextJob(b)
		if len(b) > MaxJobRequest {
			if err == nil {
				t.Fatalf("a %d-byte request was read", len(b))
			}
			return
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		switch {
		case err != nil:
			if _, ok := c.Jobs[lines[0]]; ok || len(lines) == 0 {
				t.Fatalf("refused a request starting with job %q: %v", lines[0], err)
			}
			return
		case len(lines) == 0:
			if name != "" || rest != "" {
				t.Fatalf("a blank request gave %q, %q", name, rest)
			}
			return
		}
		if _, ok := c.Jobs[name]; !ok || name != lines[0] {
			t.Fatalf("job %q for a request starting %q", name, lines[0])
		}
		n2, r2, err := c.NextJob([]byte(rest))
		switch {
		case len(lines) == 1 && (rest != "" || n2 != "" || r2 != ""):
			t.Fatalf("a one-job request left %q", rest)
		case len(lines) > 1 && err == nil && n2 != lines[1]:
			t.Fatalf("the rest %q gives job %q, want %q", rest, n2, lines[1])
		}
	})
}
