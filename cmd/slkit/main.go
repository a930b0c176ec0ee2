// Command slkit is the command line of the slkit measured and secure launch
// toolkit. It only maps flags to package options and errors to messages and
// exit codes; the work is done by the packages tpm, launch, slaunch, efi,
// initramfs and qemu.
package main

import (
	"os"
)

func main() {
	args := os.Args
	if initMode(os.Getpid(), args) {
		args = []string{"slkit", "init"}
	}
	os.Exit(run(args, newEnv()))
}
