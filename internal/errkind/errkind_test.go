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
