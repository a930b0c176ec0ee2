//go:build !slkit_image

package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/secureboot"
)

// secureBootKeygen makes a PK/KEK/db key set in --out DIR and the signed
// writes that enrol it (DIR/db.auth, KEK.auth, PK.auth, for `slkit efi
// enroll --dir` on the machine). Host only: go-uefi's signing code stays
// out of the image.
func secureBootKeygen(e *env, c *cli.Context) error {
	if err := needFlags(c, "out"); err != nil {
		return err
	}
	dir := c.String("out")
	var extra [][]byte
	for _, f := range c.StringSlice("db-cert") {
		cert, err := secureboot.LoadCert(f)
		if err != nil {
			return err
		}
		extra = append(extra, cert.Raw)
	}
	now := time.Now()
	ks, err := secureboot.GenerateKeySet(now)
	if err != nil {
		return err
	}
	if err := ks.Write(dir); err != nil {
		return err
	}
	en, err := ks.Enroll(now, extra...)
	if err != nil {
		return err
	}
	if err := en.WriteDir(dir); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote PK, KEK and db keys (0600) and certificates to %s, owner %s\n", dir, ks.Owner)
	for _, w := range en.Writes {
		fmt.Fprintf(e.stdout, "  %s: %s (timestamp %s UTC)\n", w.Var.Name, filepath.Join(dir, secureboot.EnrollFile(w.Var)), now.UTC().Format(time.DateTime))
	}
	return nil
}
