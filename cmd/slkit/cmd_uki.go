//go:build !slkit_image

package main

import (
	"errors"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/efi/secureboot"
	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/initramfs/uki"
	"github.com/slkit/slkit/internal/clikit"
)

// ukiFlags are `initramfs build`'s flags for a UKI.
func ukiFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "uki", Usage: "write a Unified Kernel Image to `FILE.efi` instead of a cpio: systemd-stub, --kernel, this initramfs, --cmdline and an os-release"},
		&cli.StringFlag{Name: "kernel", Usage: "with --uki: the kernel `FILE` (an x86-64 bzImage with its EFI stub)"},
		&cli.StringFlag{Name: "cmdline", Usage: "with --uki: the kernel command line in the .cmdline section (printable ASCII; measured into PCR 11 and, by the EFI stub, PCR 9)"},
		&cli.StringFlag{Name: "stub", Value: uki.DefaultStub, Usage: "with --uki: systemd-stub `FILE` (Debian systemd-boot-efi)"},
		&cli.StringFlag{Name: "sign-key", Usage: "with --uki: sign with this db key `FILE` (PEM, RSA; from efi keygen --secure-boot)"},
		&cli.StringFlag{Name: "sign-cert", Usage: "with --uki: the certificate `FILE` of --sign-key"},
	}
}

// ukiBuild is `initramfs build --uki`: the image built with opts, put into
// a UKI and signed with go-uefi's Authenticode.
func ukiBuild(e *env, c *cli.Context, opts []initramfs.Option) error {
	if c.IsSet("out") {
		return usage(errors.New("--uki and --out exclude each other: the UKI carries the initramfs"))
	}
	if err := clikit.NeedFlags(c, "kernel"); err != nil {
		return err
	}
	sign, err := secureboot.SignFlags{Key: optionalString(c, "sign-key"), Cert: optionalString(c, "sign-cert")}.Signer()
	if err != nil {
		return err
	}
	in := uki.BuildInput{Stub: c.String("stub"), Kernel: c.String("kernel"), Cmdline: c.String("cmdline"), Sign: sign}
	out, start := c.String("uki"), time.Now()
	res, err := uki.Build(c.Context, out, in, opts...)
	if err != nil {
		return err
	}
	took := time.Since(start).Seconds()
	return e.report(c, uki.Report{Out: out, Seconds: took, Result: res}, res.Text(out, c.String("sign-cert"), took))
}
