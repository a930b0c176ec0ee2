package errkind_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
)

func TestOf(t *testing.T) {
	bad := errkind.New(errkind.Input, "bad thing")
	refused := errkind.New(errkind.Verify, "refused")
	for _, c := range []struct {
		err  error
		want error
	}{
		{bad, errkind.Input},
		{fmt.Errorf("x: %w", bad), errkind.Input},
		{refused, errkind.Verify},
		{fmt.Errorf("%w: %w", bad, refused), errkind.Verify},
		{errors.Join(errkind.New(errkind.IO, "io"), refused), errkind.Verify},
		{fs.ErrNotExist, errkind.IO},
		{errors.New("unknown"), errkind.IO},
	} {
		if got := errkind.Of(c.err); got != c.want {
			t.Errorf("Of(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if bad.Error() != "bad thing" || !errors.Is(bad, bad) || errors.Is(bad, refused) {
		t.Errorf("sentinel identity or text broken: %q", bad.Error())
	}
}

func TestErrorf(t *testing.T) {
	inner := errkind.New(errkind.Input, "inner")
	for _, c := range []struct {
		err      error
		kind     error
		text     string
		wrapping error
	}{
		{errkind.Errorf(errkind.Input, "--a and --%s exclude each other", "b"), errkind.Input, "--a and --b exclude each other", nil},
		{errkind.Errorf(errkind.Input, "--x %q: %w", "v", inner), errkind.Input, `--x "v": inner`, inner},
		{errkind.Errorf(errkind.IO, "device gone"), errkind.IO, "device gone", nil},
		{errkind.Errorf(errkind.Verify, "refused: %w", inner), errkind.Verify, "refused: inner", inner},
	} {
		if c.err.Error() != c.text {
			t.Errorf("text %q, want %q", c.err, c.text)
		}
		if !errors.Is(c.err, c.kind) || errkind.Of(c.err) != c.kind {
			t.Errorf("%v: kind %v, want %v", c.err, errkind.Of(c.err), c.kind)
		}
		if c.wrapping != nil && !errors.Is(c.err, c.wrapping) {
			t.Errorf("%v does not wrap %v", c.err, c.wrapping)
		}
	}
}
