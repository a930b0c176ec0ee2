package errkind_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
)

// TestMark: a marked error keeps its text and what it wraps, and is of
// the kind it was marked with; nil stays nil.
func TestMark(t *testing.T) {
	if errkind.Mark(errkind.Input, nil) != nil {
		t.Fatal("Mark(nil) is not nil")
	}
	for _, c := range []struct {
		kind, err error
		want      error
	}{
		{errkind.Input, errors.New("give --pin"), errkind.Input},
		{errkind.IO, fs.ErrNotExist, errkind.IO},
		{errkind.Input, errkind.New(errkind.Input, "bad"), errkind.Input},
	} {
		m := errkind.Mark(c.kind, c.err)
		if m.Error() != c.err.Error() || !errors.Is(m, c.err) || errkind.Of(m) != c.want {
			t.Errorf("Mark(%v, %v) = %q, kind %v", c.kind, c.err, m, errkind.Of(m))
		}
	}
	var pe *fs.PathError
	if !errors.As(errkind.Mark(errkind.Input, &fs.PathError{Op: "open", Path: "f", Err: fs.ErrNotExist}), &pe) || pe.Path != "f" {
		t.Error("errors.As does not see through Mark")
	}
}
