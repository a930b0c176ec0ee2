package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi"
)

// efiEnrollCommand enrols a Secure Boot key set in setup mode from the
// signed writes `slkit efi keygen --secure-boot` made on the build host.
func efiEnrollCommand(e *env, open varsOpener) *cli.Command {
	return &cli.Command{
		Name:  "enroll",
		Usage: "enrol a Secure Boot key set in setup mode: write DIR/db.auth, DIR/KEK.auth, DIR/PK.auth (signed on the build host by `efi keygen --secure-boot`), in that order",
		Description: "The platform must be in setup mode (no PK). Nothing is written when it is not, or when a file\n" +
			"is not an authenticated signature-list write. The firmware leaves setup mode with the PK write and\n" +
			"turns Secure Boot on at the next boot. No private key is needed here.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "directory `DIR` holding db.auth, KEK.auth and PK.auth (required)"},
			efivarsFlag,
		},
		Action: func(c *cli.Context) error { return efiEnroll(e, c, open) },
	}
}

// inAuthFile is a signed authenticated-variable write (.auth) read from
// disk for enrolment.
var inAuthFile = inputKind{what: "authenticated variable", max: 1 << 20}

func efiEnroll(e *env, c *cli.Context, open varsOpener) error {
	if err := needArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	if err := needFlags(c, "dir"); err != nil {
		return err
	}
	writes := map[efi.Name][]byte{}
	for _, n := range efi.EnrollmentOrder {
		p := filepath.Join(c.String("dir"), n.Name+".auth")
		b, err := readInput(p, inAuthFile)
		if err != nil {
			return err
		}
		writes[n] = b
	}
	v, err := open(c, efi.WithMutable(efi.EnrollPatterns...))
	if err != nil {
		return err
	}
	if err := v.EnrollSecureBoot(writes); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "enrolled db, KEK and PK: the firmware left setup mode; Secure Boot is on from the next boot")
	return nil
}
