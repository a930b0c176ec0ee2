//go:build !slkit_image

package main

import "github.com/urfave/cli/v2"

// hostCommands are the commands that only make sense on a build host: the
// image builder. The slkit binary inside a pre-launch or target image is
// built with -tags slkit_image and leaves them out (see initramfs: it
// builds that binary). The QEMU rig is a binary of its own,
// rig/cmd/slkit-rig, in no slkit build.
func hostCommands(e *env) []*cli.Command {
	return []*cli.Command{initramfsCommand(e)}
}
