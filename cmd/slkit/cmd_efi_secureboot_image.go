//go:build slkit_image

package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// secureBootKeygen is not in the image: keys are made and signed on the
// build host, never inside an image.
func secureBootKeygen(*env, *cli.Context) error {
	return usage(errors.New("efi keygen --secure-boot: make Secure Boot keys on the build host (this is the image's slkit)"))
}
