package journal

import "testing"

// TestParseTries: 1 to 255 attempts.
func TestParseTries(t *testing.T) {
	for n, ok := range map[uint]bool{0: false, 1: true, 255: true, 256: false} {
		got, err := ParseTries(n)
		if (err == nil) != ok || ok && uint(got) != n {
			t.Errorf("%d: %d %v", n, got, err)
		}
	}
}
