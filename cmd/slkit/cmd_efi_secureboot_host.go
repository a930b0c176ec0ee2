//go:build !slkit_image

package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/secureboot"
)

// secureBootKeygen makes a PK/KEK/db key set in --out DIR and the signed
// writes that enrol it (DIR/db.auth, KEK.auth, PK.auth, for `slkit efi
// enroll --dir` on the machine). Host only: go-uefi's signing code stays
// out of the image.
func secureBootKeygen(e *env, c *cli.Context) error {
	p, err := secureboot.Provision(c.String("out"), time.Now(), c.StringSlice("db-cert")...)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(e.stdout, p.Text())
	return err
}
