package tpm_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/tpm"
)

// toolsTPM is a swtpm on TCP ports that tpm2-tools reach through their
// swtpm TCTI (swtpm serves one data connection at a time: slkit's
// connection is closed before the tools run).
type toolsTPM struct {
	t    *testing.T
	spec string // for tpm.Open
	tcti string // for TPM2TOOLS_TCTI
	dir  string
	// stdin is the input of a command whose last argument is "-".
	stdin []byte
}

// startToolsTPM starts swtpm with its state in stateDir (a copy of a
// fixture's state, or a new one), or skips without swtpm and tpm2-tools.
func startToolsTPM(t *testing.T, stateDir string) *toolsTPM {
	t.Helper()
	for _, p := range []string{"swtpm", "tpm2_unseal", "tpm2_createprimary"} {
		if _, err := exec.LookPath(p); err != nil {
			requireFixtures(t, p+" (tpm2-tools/swtpm)")
		}
	}
	port := freePortPair(t)
	sw, err := swtpm.Start(context.Background(), stateDir, swtpm.WithTCPPorts(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	return &toolsTPM{t: t, spec: fmt.Sprintf("swtpm:tcp:127.0.0.1:%d", port),
		tcti: fmt.Sprintf("swtpm:host=127.0.0.1,port=%d", port), dir: t.TempDir()}
}

// freePortPair finds a port p such that p and p+1 are free on loopback.
func freePortPair(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		l.Close()
		if err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no free port pair")
	return 0
}

// run runs a tpm2-tools command in the TPM's work directory and returns its
// standard output; a failure fails the test unless mayFail.
func (x *toolsTPM) run(mayFail bool, args ...string) (string, error) {
	x.t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	if args[len(args)-1] == "-" {
		cmd.Stdin = bytes.NewReader(x.stdin)
	}
	cmd.Dir = x.dir
	cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+x.tcti)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if args[0] != "tpm2_flushcontext" {
		// The swtpm TCTI has no resource manager (as /dev/tpmrm0 has):
		// each tool leaves the objects it loaded, and swtpm holds three.
		x.run(true, "tpm2_flushcontext", "-t")
	}
	if err != nil && !mayFail {
		x.t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	if err != nil {
		err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), err
}

func (x *toolsTPM) must(args ...string) string {
	x.t.Helper()
	out, _ := x.run(false, args...)
	return out
}

func (x *toolsTPM) write(name string, b []byte) {
	x.t.Helper()
	if err := os.WriteFile(filepath.Join(x.dir, name), b, 0o600); err != nil {
		x.t.Fatal(err)
	}
}

func (x *toolsTPM) read(name string) []byte {
	x.t.Helper()
	b, err := os.ReadFile(filepath.Join(x.dir, name))
	if err != nil {
		x.t.Fatal(err)
	}
	return b
}

// readmeSealed is the sealed-file schema of README.md ("The sealed file"),
// decoded here with encoding/json, not with package tpm.
type readmeSealed struct {
	SRK struct {
		Persistent bool   `json:"persistent"`
		Handle     uint32 `json:"handle"`
		Name       string `json:"name"`
		Public     string `json:"public"`
	} `json:"srk"`
	Public  string `json:"public"`
	Private string `json:"private"`
	Policy  struct {
		Bank     string `json:"bank"`
		PCRs     []int  `json:"pcrs"`
		PIN      bool   `json:"pin"`
		Locality int    `json:"locality"`
		Digest   string `json:"digest"`
	} `json:"policy"`
	Expected struct {
		Banks map[string]map[string]string `json:"banks"`
	} `json:"expected"`
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readmeSRKTemplate is the tpm2_createprimary invocation README.md gives
// for the SRK when the file's srk.persistent is false.
var readmeSRKTemplate = []string{"tpm2_createprimary", "-C", "o", "-g", "sha256", "-G", "ecc256:aes128cfb",
	"-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt",
	"-c", "srk.ctx", "-u", "-"}

// loadSRK makes the file's SRK available to the tools as srk.ctx (created
// from the template) or returns its persistent handle, and checks that its
// name is srk.name.
func (x *toolsTPM) loadSRK(f *readmeSealed) string {
	x.t.Helper()
	parent := "srk.ctx"
	if f.SRK.Persistent {
		parent = fmt.Sprintf("%#x", f.SRK.Handle)
	} else {
		// unique x and y: 32 zero bytes each, which tpm2_createprimary
		// reads from stdin as one 64-byte buffer split in half.
		x.stdin = make([]byte, 64)
		x.must(readmeSRKTemplate...)
	}
	x.must("tpm2_readpublic", "-c", parent, "-n", "srk.name")
	if got := hex.EncodeToString(x.read("srk.name")); got != f.SRK.Name {
		x.t.Fatalf("SRK name %s, the file says %s", got, f.SRK.Name)
	}
	return parent
}

// policyCommands are the policy commands in README.md's order, on session
// file sess; pcrsFile (for a trial session) holds the expected values, and
// each command writes the session's digest to digestOut (-L) if given.
func (x *toolsTPM) policyCommands(f *readmeSealed, sess, pcrsFile string, digestOut string) {
	x.t.Helper()
	out := func(args ...string) []string {
		if digestOut != "" {
			args = append(args, "-L", digestOut)
		}
		return args
	}
	sel := []string{}
	for _, i := range f.Policy.PCRs {
		sel = append(sel, strconv.Itoa(i))
	}
	pcr := []string{"tpm2_policypcr", "-S", sess, "-l", f.Policy.Bank + ":" + strings.Join(sel, ",")}
	if pcrsFile != "" {
		pcr = append(pcr, "-f", pcrsFile)
	}
	x.must(out(pcr...)...)
	if f.Policy.Locality != 0 {
		x.must(out("tpm2_policylocality", "-S", sess, strconv.Itoa(f.Policy.Locality))...)
	}
	if f.Policy.PIN {
		x.must(out("tpm2_policyauthvalue", "-S", sess)...)
	}
}

// toolsUnseal follows README.md with tpm2-tools alone: it recomputes the
// policy digest in a trial session from the recorded values and checks it
// against policy.digest, then loads the object under the SRK, satisfies
// the policy in a policy session and unseals.
func (x *toolsTPM) toolsUnseal(sealed []byte, pin string) ([]byte, error) {
	x.t.Helper()
	var f readmeSealed
	if err := json.Unmarshal(sealed, &f); err != nil {
		x.t.Fatal(err)
	}
	var vals []byte
	for _, i := range f.Policy.PCRs {
		v, err := hex.DecodeString(f.Expected.Banks[f.Policy.Bank][strconv.Itoa(i)])
		if err != nil || len(v) == 0 {
			x.t.Fatalf("expected %s PCR %d: %v", f.Policy.Bank, i, err)
		}
		vals = append(vals, v...)
	}
	x.write("pcrs.bin", vals)
	x.must("tpm2_startauthsession", "-S", "trial.ctx")
	x.policyCommands(&f, "trial.ctx", "pcrs.bin", "trial.digest")
	x.must("tpm2_flushcontext", "trial.ctx")
	if got := hex.EncodeToString(x.read("trial.digest")); got != f.Policy.Digest {
		x.t.Fatalf("policy digest from the README's commands %s, the file says %s", got, f.Policy.Digest)
	}

	parent := x.loadSRK(&f)
	x.write("obj.pub", b64(x.t, f.Public))
	x.write("obj.priv", b64(x.t, f.Private))
	x.must("tpm2_load", "-C", parent, "-u", "obj.pub", "-r", "obj.priv", "-c", "obj.ctx")
	x.must("tpm2_startauthsession", "--policy-session", "-S", "session.ctx")
	defer x.run(true, "tpm2_flushcontext", "session.ctx")
	x.policyCommands(&f, "session.ctx", "", "")
	auth := "session:session.ctx"
	if f.Policy.PIN {
		auth += "+" + pin
	}
	if _, err := x.run(true, "tpm2_unseal", "-c", "obj.ctx", "-p", auth, "-o", "secret.out"); err != nil {
		return nil, err
	}
	return x.read("secret.out"), nil
}

// TestUnsealWithTpm2Tools: files slkit seals unseal with tpm2-tools alone,
// following only README.md's description of the file: PCR-only and with a
// PIN, under the template SRK and under the persistent one; a wrong PIN
// and changed PCRs are refused by the TPM; and a file with PolicyLocality
// (a DRTM PCR) has the digest of README's command order, and is refused at
// locality 0.
func TestUnsealWithTpm2Tools(t *testing.T) {
	x := startToolsTPM(t, filepath.Join(t.TempDir(), "state"))
	seal := func(secret string, pcrs []int, pin string, persistent bool) []byte {
		t.Helper()
		c, err := tpm.Open(x.spec)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if persistent {
			if _, err := tpm.ProvisionSRK(c); err != nil {
				t.Fatal(err)
			}
		}
		d, _ := tpm.SHA256.Sum([]byte("kernel"))
		if err := tpm.Extend(c, 9, tpm.Digests{tpm.SHA256: d}); err != nil {
			t.Fatal(err)
		}
		pol, err := tpm.CurrentPolicy(c, tpm.SHA256, pcrs)
		if err != nil {
			t.Fatal(err)
		}
		var opts []tpm.SealOption
		if pin != "" {
			opts = append(opts, tpm.WithPIN([]byte(pin)))
		}
		s, err := tpm.Seal(c, []byte(secret), pol, opts...)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Marshal()
		return b
	}
	for _, persistent := range []bool{false, true} {
		for _, pin := range []string{"", "1234"} {
			name := fmt.Sprintf("persistent SRK %v, PIN %q", persistent, pin)
			secret := "secret for " + name
			f := seal(secret, []int{7, 9}, pin, persistent)
			got, err := x.toolsUnseal(f, pin)
			if err != nil || string(got) != secret {
				t.Fatalf("%s: tpm2_unseal %q, %v", name, got, err)
			}
			if pin != "" {
				if _, err := x.toolsUnseal(f, "4321"); err == nil || !strings.Contains(err.Error(), "auth") {
					t.Fatalf("%s: wrong PIN: %v", name, err)
				}
			}
		}
	}
	// PCR 9 extended again since the last seal: refused.
	f := seal("pcr change", []int{9}, "", false)
	c, err := tpm.Open(x.spec)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := tpm.SHA256.Sum([]byte("other"))
	tpm.Extend(c, 9, tpm.Digests{tpm.SHA256: d})
	c.Close()
	if _, err := x.toolsUnseal(f, ""); err == nil || !strings.Contains(strings.ToLower(err.Error()), "policy") {
		t.Fatalf("after a PCR change: %v", err)
	}
	// PCR 17 selects PolicyLocality(TPMA_LOCALITY 4 = locality 2): the
	// README's order gives the file's digest, and at locality 0 the TPM
	// refuses.
	f = seal("drtm", []int{9, 17}, "1234", false)
	var rs readmeSealed
	json.Unmarshal(f, &rs)
	if rs.Policy.Locality != 4 {
		t.Fatalf("locality %d, want the TPMA_LOCALITY mask 4", rs.Policy.Locality)
	}
	if _, err := x.toolsUnseal(f, "1234"); err == nil || !strings.Contains(strings.ToLower(err.Error()), "locality") {
		t.Fatalf("at locality 0: %v", err)
	}
}
