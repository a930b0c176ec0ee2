// Package clikit is slkit's command-line conventions over urfave/cli/v2,
// independent of any command:
//
//   - flags may come before or after positional arguments (Interspersed);
//   - a flag given as an empty path, a required flag not given, a flag
//     given without the one it needs, and a wrong number of positional
//     arguments are each one line, a UsageError (Check, NeedFlags,
//     OnlyWith, NArgs);
//   - commands are declared in a line or two each (Cmd, ArgsCmd, Group,
//     Described).
//
// The product's packages know nothing of urfave/cli; only the commands
// (slkit, and the rig's slkit-rig) use this package. Run prints an error
// as one line and maps it to its exit code (ExitCode, ExitCodesHelp).
package clikit
