package initramfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModulePath is slkit's Go module path; SlkitPackage its command;
// ImageBuildTag the build tag of the slkit that goes into an image, which
// leaves out the commands that only a build host needs (the rig, the
// image builder).
const (
	ModulePath    = "github.com/slkit/slkit"
	SlkitPackage  = "./cmd/slkit"
	ImageBuildTag = "slkit_image"
)

// goBuildFlags make `go build` reproducible: no cgo (a static binary),
// no file-system paths (-trimpath), no VCS stamp, no symbol table or DWARF
// and an empty build ID (-ldflags "-s -w -buildid="), so that the bytes
// depend only on the sources and the toolchain.
var goBuildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// goEnv is the environment for go build and mkuimage: the host's, with the
// target and everything that changes the output pinned. GOFLAGS is
// replaced, so a developer's GOFLAGS cannot change the image.
func goEnv() []string {
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "GOFLAGS=-buildvcs=false", "GOEXPERIMENT="}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CGO_ENABLED", "GOOS", "GOARCH", "GOAMD64", "GOFLAGS", "GOEXPERIMENT", "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOWORK=off")
}

// ImageSlkitBuild is the `go build` command line (without the leading
// "go") and the environment that build the slkit an image carries into
// out, from the module's source directory: the image build tag, static,
// reproducible (goBuildFlags). It is what Build runs when no slkit binary
// is given, for callers that build the binary once for many images.
func ImageSlkitBuild(out string) (args, env []string) {
	args = append([]string{"build"}, goBuildFlags...)
	return append(args, "-tags", ImageBuildTag, "-o", out, SlkitPackage), goEnv()
}

// buildSlkit builds slkit statically from the module at src into dir and
// returns the binary's path.
func buildSlkit(ctx context.Context, cfg *buildConfig, src, dir string) (string, error) {
	out := filepath.Join(dir, "slkit")
	args, _ := ImageSlkitBuild(out)
	if err := runTool(ctx, cfg, src, "go build", cfg.goCmd, args...); err != nil {
		return "", err
	}
	return out, nil
}

// runTool runs a build tool in dir; its output goes to the log and, on
// failure, its last lines into the error, which names the tool by label.
func runTool(ctx context.Context, cfg *buildConfig, dir, label, name string, args ...string) error {
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	cmd.Stdout = io.MultiWriter(cfg.log, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s: %v: %s", ErrBuild, label, err, lastLines(tail.String(), 5))
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

// FindSource returns slkit's source module root: dir when it holds
// slkit's go.mod, or with dir "" the nearest such directory at or above
// the working directory.
func FindSource(dir string) (string, error) {
	if dir != "" {
		if !isSlkitModule(dir) {
			return "", fmt.Errorf("%w: source %s: no go.mod of module %s there", ErrInput, dir, ModulePath)
		}
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isSlkitModule(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no slkit source (go.mod of module %s) at or above %s: give its directory, or a prebuilt slkit binary", ErrInput, ModulePath, wd)
		}
	}
}

func isSlkitModule(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == ModulePath
		}
	}
	return false
}

// checkELF refuses a --slkit-binary that is not an ELF executable, so
// that a wrong path fails at build time rather than as a kernel panic.
func checkELF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: slkit binary %s: %v", ErrInput, path, unwrapPath(err))
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "\x7fELF" {
		return fmt.Errorf("%w: slkit binary %s: not an ELF executable", ErrInput, path)
	}
	return nil
}

// unwrapPath drops the *fs.PathError wrapper, whose path the caller's
// message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
