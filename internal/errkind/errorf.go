package errkind

import "fmt"

// Errorf formats an error as fmt.Errorf does (a %w verb wraps its
// operand) and gives it the kind kind (Input, IO or Verify), as Mark
// does: errors.Is(Errorf(k, ...), k) is true, and its text is exactly the
// formatted one. It is how a package reports a bad value in words of its
// own, e.g. two options that exclude each other.
func Errorf(kind error, format string, a ...any) error {
	return Mark(kind, fmt.Errorf(format, a...))
}
