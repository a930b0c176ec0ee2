package errkind

import "fmt"

// Errorf formats an error as fmt.Errorf does (a %w verb wraps its
// operand) and gives it the kind kind (Input, IO or Verify):
// errors.Is(Errorf(k, ...), k) is true, and its text is exactly the
// formatted one. It is how a package reports a bad value in words of its
// own, e.g. two options that exclude each other.
func Errorf(kind error, format string, a ...any) error {
	return &kinded{err: fmt.Errorf(format, a...), kind: kind}
}

// kinded is an error of Errorf: err, of kind kind.
type kinded struct{ err, kind error }

func (k *kinded) Error() string   { return k.err.Error() }
func (k *kinded) Unwrap() []error { return []error{k.err, k.kind} }
