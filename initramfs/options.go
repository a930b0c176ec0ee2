package initramfs

import "io"

type buildConfig struct {
	full        bool
	policy      string
	policyKey   string
	payloads    []Payload
	modules     []string
	run         []string
	then        [][]string
	onFailure   FailureAction
	onSuccess   FailureAction
	jobs        map[string]Job
	jobRequest  string
	debugShell  bool
	slkitBinary string
	source      string
	goCmd       string
	tempDir     string
	log         io.Writer
}

func defaultBuildConfig() buildConfig {
	return buildConfig{onFailure: PowerOff, goCmd: "go", log: io.Discard}
}

// Option configures Build.
type Option func(*buildConfig)

// WithFull builds a full image: u-root's core commands (init, gosh, ls,
// cat, dmesg, mount, kexec) and slkit in one busybox binary built by
// mkuimage, u-root's init as /init and `slkit init` as its uinit.
func WithFull(full bool) Option { return func(c *buildConfig) { c.full = full } }

// WithPolicy embeds a signed launch policy (at PolicyPath) and the public
// key it verifies under (at PolicyKeyPath). Build checks that the policy
// verifies under the key: an image that can never launch is refused.
func WithPolicy(signedPolicy, publicKey string) Option {
	return func(c *buildConfig) { c.policy, c.policyKey = signedPolicy, publicKey }
}

// WithPayload adds a host file at an absolute path in the image.
func WithPayload(p Payload) Option {
	return func(c *buildConfig) { c.payloads = append(c.payloads, p) }
}

// WithModule adds a kernel module (.ko, or .ko.gz/.ko.xz/.ko.zst, which
// are decompressed at build time: finit_module(2) takes compressed modules
// only from Linux 6.4 on) under ModulesDir; the runtime loads the modules
// in the order given, before mounting efivarfs.
func WithModule(path string) Option {
	return func(c *buildConfig) { c.modules = append(c.modules, path) }
}

// WithRun sets the slkit arguments the runtime runs (default DefaultRun,
// which needs WithPolicy). A target image uses its post-launch step here.
func WithRun(args ...string) Option { return func(c *buildConfig) { c.run = args } }

// WithThen adds a command the runtime runs after the run command and the
// earlier WithThen commands succeeded (repeatable, in order): a target
// image's post-launch steps, e.g. verify the event log, then unseal.
func WithThen(args ...string) Option {
	return func(c *buildConfig) { c.then = append(c.then, args) }
}

// WithOnFailure sets what the runtime does when the run fails (default
// PowerOff).
func WithOnFailure(a FailureAction) Option { return func(c *buildConfig) { c.onFailure = a } }

// WithOnSuccess sets what the runtime does when every step (and the
// requested job) succeeded (default PowerOff; a target image that must
// reboot through the firmware after its steps passes Reboot).
func WithOnSuccess(a FailureAction) Option { return func(c *buildConfig) { c.onSuccess = a } }

// WithJobStep adds a step to the job called name (see Job), created on
// first use; WithJobOnSuccess sets its final action.
func WithJobStep(name string, args ...string) Option {
	return func(c *buildConfig) {
		if c.jobs == nil {
			c.jobs = map[string]Job{}
		}
		j := c.jobs[name]
		j.Steps = append(j.Steps, args)
		c.jobs[name] = j
	}
}

// WithJobOnSuccess sets what the runtime does after the job called name
// succeeded (default: WithOnSuccess's action).
func WithJobOnSuccess(name string, a FailureAction) Option {
	return func(c *buildConfig) {
		if c.jobs == nil {
			c.jobs = map[string]Job{}
		}
		j := c.jobs[name]
		j.OnSuccess = a
		c.jobs[name] = j
	}
}

// WithJobRequest sets the file whose first line names the job to run
// (Config.JobRequest): on a disk the image mounts in an earlier step.
func WithJobRequest(path string) Option { return func(c *buildConfig) { c.jobRequest = path } }

// WithDebugShell lets the runtime start gosh (when the image has it) after
// a failure, before the failure action. Never use it for a real image.
func WithDebugShell(on bool) Option { return func(c *buildConfig) { c.debugShell = on } }

// WithSlkitBinary uses a prebuilt slkit binary instead of building one
// from source (it must be a static Linux executable; Build checks only
// that it is an ELF file). In a full image it goes to /bin/slkit.
func WithSlkitBinary(path string) Option { return func(c *buildConfig) { c.slkitBinary = path } }

// WithSource sets the root of slkit's source module (default: the nearest
// directory at or above the working directory whose go.mod declares
// module github.com/slkit/slkit).
func WithSource(dir string) Option { return func(c *buildConfig) { c.source = dir } }

// WithGo sets the go command (default "go" from $PATH).
func WithGo(goCmd string) Option { return func(c *buildConfig) { c.goCmd = goCmd } }

// WithTempDir sets where build scratch space is made (default
// os.TempDir()); it is removed before Build returns.
func WithTempDir(dir string) Option { return func(c *buildConfig) { c.tempDir = dir } }

// WithLog receives the output of go build and mkuimage (default: kept
// only to explain a failure).
func WithLog(w io.Writer) Option { return func(c *buildConfig) { c.log = w } }
