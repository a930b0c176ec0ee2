//go:build slkit_image

package main

import "github.com/urfave/cli/v2"

// attestVerifierCommands is empty in the image build (-tags slkit_image):
// a machine quotes and activates; verifying is the verifier's business,
// and go-attestation stays out of the image.
func attestVerifierCommands(*env) []*cli.Command { return nil }
