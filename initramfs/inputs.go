package initramfs

import (
	"fmt"
	"os"
	"strings"

	"github.com/slkit/slkit/launch/policy"
)

// inputs are the checked inputs of a build: everything is read or opened
// once here, so that bad input fails before anything is built or written.
type inputs struct {
	config    Config
	policy    []byte
	policyKey []byte
	verified  *policy.Policy
	modules   []module
	payloads  []Payload
	slkitBin  string // a prebuilt slkit, or "" to build one from source
	source    string // slkit's module root ("" when not needed)
	warnings  []string
}

func gather(cfg *buildConfig) (*inputs, error) {
	in := &inputs{config: Config{Version: ConfigVersion, Run: cfg.run, Then: cfg.then, OnFailure: cfg.onFailure, DebugShell: cfg.debugShell,
		OnSuccess: cfg.onSuccess, Jobs: cfg.jobs, JobRequest: cfg.jobRequest}}
	if _, err := ParseFailureAction(string(cfg.onFailure)); err != nil {
		return nil, err
	}
	if err := in.readPolicy(cfg); err != nil {
		return nil, err
	}
	if len(in.config.Run) == 0 {
		if in.policy == nil {
			return nil, fmt.Errorf("%w: a pre-launch image needs a policy and its key (or a run command for another step)", ErrInput)
		}
		in.config.Run = DefaultRun()
	}
	if err := in.checkPayloads(cfg.payloads); err != nil {
		return nil, err
	}
	seen := map[string]string{}
	for _, src := range cfg.modules {
		m, err := readModule(src)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[m.dst]; ok {
			return nil, fmt.Errorf("%w: modules %s and %s both go to %s", ErrInput, prev, src, m.dst)
		}
		seen[m.dst] = src
		in.modules = append(in.modules, m)
		in.config.Modules = append(in.config.Modules, m.dst)
	}
	if err := in.config.Validate(); err != nil {
		return nil, fmt.Errorf("%w: run command: %v", ErrInput, err)
	}
	if cfg.slkitBinary != "" {
		if err := checkELF(cfg.slkitBinary); err != nil {
			return nil, err
		}
		in.slkitBin = cfg.slkitBinary
	}
	if cfg.slkitBinary == "" || cfg.full {
		src, err := FindSource(cfg.source)
		if err != nil {
			return nil, err
		}
		in.source = src
	}
	in.checkPolicyPaths()
	return in, nil
}

// readPolicy reads the policy and its key and checks that the policy
// verifies under the key.
func (in *inputs) readPolicy(cfg *buildConfig) error {
	switch {
	case cfg.policy == "" && cfg.policyKey == "":
		return nil
	case cfg.policy == "":
		return fmt.Errorf("%w: a policy key without a policy", ErrInput)
	case cfg.policyKey == "":
		return fmt.Errorf("%w: policy %s: no public key to verify it with", ErrInput, cfg.policy)
	}
	var err error
	if in.policy, err = readNonEmpty("policy", cfg.policy); err != nil {
		return err
	}
	if in.policyKey, err = readNonEmpty("policy key", cfg.policyKey); err != nil {
		return err
	}
	pub, err := policy.ParsePublicKey(in.policyKey)
	if err != nil {
		return fmt.Errorf("%w: policy key %s: %v", ErrInput, cfg.policyKey, err)
	}
	v, err := policy.Verify(in.policy, pub)
	if err != nil {
		return fmt.Errorf("%w: policy %s does not verify under key %s: %v", ErrInput, cfg.policy, cfg.policyKey, err)
	}
	in.verified = v.Policy
	return nil
}

func readNonEmpty(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %s %s: %v", ErrInput, what, path, unwrapPath(err))
	case len(b) == 0:
		return nil, fmt.Errorf("%w: %s %s: empty file", ErrInput, what, path)
	}
	return b, nil
}

// checkPayloads validates destinations (absolute, clean, not reserved,
// not twice, not inside another payload) and that every source is a
// readable regular file.
func (in *inputs) checkPayloads(ps []Payload) error {
	dst := map[string]string{}
	for _, p := range ps {
		if err := p.validate(); err != nil {
			return err
		}
		if prev, ok := dst[p.Dst]; ok {
			return fmt.Errorf("%w: --add %s:%s: destination %s is already taken by %s", ErrInput, p.Src, p.Dst, p.Dst, prev)
		}
		dst[p.Dst] = p.Src
		f, err := os.Open(p.Src)
		if err != nil {
			return fmt.Errorf("%w: --add %s: %v", ErrInput, p.Src, unwrapPath(err))
		}
		st, err := f.Stat()
		f.Close()
		if err != nil {
			return fmt.Errorf("%w: --add %s: %v", ErrInput, p.Src, unwrapPath(err))
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%w: --add %s: not a regular file", ErrInput, p.Src)
		}
	}
	for a := range dst {
		for b := range dst {
			if strings.HasPrefix(b, a+"/") {
				return fmt.Errorf("%w: --add destinations %s and %s: %s is a file, it cannot hold %s", ErrInput, a, b, a, b)
			}
		}
	}
	in.payloads = ps
	return nil
}

// checkPolicyPaths warns about policy entries whose kernel or initrd is not
// among the payloads: such an entry cannot launch from this image.
func (in *inputs) checkPolicyPaths() {
	p := in.verified
	if p == nil {
		return
	}
	have := map[string]bool{}
	for _, pl := range in.payloads {
		have[pl.Dst] = true
	}
	for _, e := range p.Entries {
		paths := []string{e.Kernel.Path}
		if e.Initrd != nil {
			paths = append(paths, e.Initrd.Path)
		}
		for _, q := range paths {
			if !have[q] {
				in.warnings = append(in.warnings, fmt.Sprintf("policy entry %q names %s, which is not in the image (--add SRC:%s)", e.Name, q, q))
			}
		}
	}
}
