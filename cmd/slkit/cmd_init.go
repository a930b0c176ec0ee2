package main

import (
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/internal/clikit"
)

// initMode reports whether slkit was started as the init of a minimal
// image: as PID 1, or under the name /init. main then runs `slkit init`
// whatever the arguments (the kernel passes unknown command-line words).
func initMode(pid int, args []string) bool {
	return pid == 1 || (len(args) > 0 && args[0] == initramfs.InitPath)
}

func initCommand(e *env) *cli.Command {
	return clikit.Described("Reads the init configuration ("+initramfs.ConfigPath+"), mounts proc, sysfs,\n"+
		"devtmpfs and securityfs, loads the configured modules, mounts efivarfs on EFI, runs\n"+
		"the configured slkit command as a child, and powers off or reboots when it fails.\n"+
		"It runs only as PID 1 or as a child of PID 1: anywhere else it would power off the\n"+
		"machine it runs on.",
		clikit.Cmd("init", "the pre-launch initramfs runtime (PID 1, or u-root's uinit): mount, load modules, run the configured slkit command, power off on failure",
			func(c *cli.Context) error { return initAction(e, c, os.Getpid(), os.Getppid(), pid1.NewSystem()) },
			&cli.StringFlag{Name: "config", Value: initramfs.ConfigPath, Usage: "init configuration `FILE`"}))
}

// errNotInit refuses `slkit init` outside an initramfs.
var errNotInit = errors.New("slkit init runs only as PID 1 or as the uinit of u-root's init (a child of PID 1)")

func initAction(e *env, c *cli.Context, pid, ppid int, sys pid1.System) error {
	if pid != 1 && ppid != 1 {
		return usage(errNotInit)
	}
	return pid1.Run(sys, pid1.WithConfig(c.String("config")), pid1.WithOutput(e.stdout, e.stderr))
}
