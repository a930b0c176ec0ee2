package errkind

// Mark returns err as an error of kind (Input, IO or Verify) with err's
// own text: errors.Is(Mark(k, err), k) holds, and err stays in the tree
// for errors.Is and errors.As. A package uses it for a bad request whose
// message names the flag or argument it came from (nil stays nil).
func Mark(kind, err error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, kind: kind}
}

type marked struct{ err, kind error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.err, m.kind} }
