//go:build slkit_image

package main

import "github.com/urfave/cli/v2"

// hostCommands is empty in the image build (-tags slkit_image): no image
// builder inside an image.
func hostCommands(*env) []*cli.Command { return nil }
