//go:build tools

// Package tools pins the u-root commands that `slkit initramfs build --full`
// compiles through mkuimage, so that they resolve from this module's go.sum,
// and the pinned versions of the libraries slkit builds on.
package tools

import (
	_ "github.com/foxboron/go-uefi/efivarfs"
	_ "github.com/google/go-tpm-tools/simulator"
	_ "github.com/u-root/u-root/cmds/core/cat"
	_ "github.com/u-root/u-root/cmds/core/dmesg"
	_ "github.com/u-root/u-root/cmds/core/gosh"
	_ "github.com/u-root/u-root/cmds/core/init"
	_ "github.com/u-root/u-root/cmds/core/kexec"
	_ "github.com/u-root/u-root/cmds/core/ls"
	_ "github.com/u-root/u-root/cmds/core/mount"
	_ "github.com/u-root/u-root/pkg/boot"
	_ "github.com/u-root/u-root/pkg/cpio"
	_ "github.com/urfave/cli/v2"
)
