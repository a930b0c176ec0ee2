//go:build !slkit_image

package main

import "github.com/urfave/cli/v2"

// hostCommands are the commands that only make sense on a build host: the
// QEMU rig and the image builder. The slkit binary inside a pre-launch or
// target image is built with -tags slkit_image and leaves them out (see
// initramfs: it builds that binary), so the rig is not in the image.
func hostCommands(e *env) []*cli.Command {
	return []*cli.Command{rigCommand(e), initramfsCommand(e)}
}
