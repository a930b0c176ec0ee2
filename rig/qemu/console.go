package qemu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrTimeout is returned when an expectation is not met in time.
var ErrTimeout = errkind.New(errkind.IO, "timed out")

// Console collects a guest's serial output: every line is appended to the
// transcript, written to a capture file and to an optional live writer, and
// can be waited for with Expect.
type Console struct {
	mu      sync.Mutex
	lines   []string
	partial string
	changed chan struct{}
	closed  bool
	live    io.Writer
	hook    func(line string, at time.Time)
	start   time.Time
}

func newConsole(live io.Writer, hook func(string, time.Time)) *Console {
	return &Console{changed: make(chan struct{}), live: live, hook: hook, start: time.Now()}
}

// feed reads r until EOF, line by line.
func (c *Console) feed(r io.Reader, capture io.Writer) {
	br := bufio.NewReader(r)
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			if capture != nil {
				io.WriteString(capture, s)
			}
			c.add(s)
		}
		if err != nil {
			c.mu.Lock()
			c.closed = true
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
			return
		}
	}
}

func (c *Console) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	complete := strings.HasSuffix(s, "\n")
	line := strings.TrimRight(c.partial+s, "\r\n")
	if !complete {
		c.partial += s
	} else {
		c.partial = ""
		c.lines = append(c.lines, line)
		if c.live != nil {
			fmt.Fprintln(c.live, line)
		}
		if c.hook != nil {
			c.hook(line, time.Now())
		}
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Lines returns a copy of the complete lines so far.
func (c *Console) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// Text is the transcript so far.
func (c *Console) Text() string { return strings.Join(c.Lines(), "\n") }

// Expect waits until a line matching pattern appears (anywhere in the
// transcript so far or later) and returns its submatches. It fails when the
// console closes (the VM exited) or ctx ends.
func (c *Console) Expect(ctx context.Context, pattern string) ([]string, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	seen := 0
	for {
		c.mu.Lock()
		for ; seen < len(c.lines); seen++ {
			if m := re.FindStringSubmatch(c.lines[seen]); m != nil {
				c.mu.Unlock()
				return m, nil
			}
		}
		ch, closed := c.changed, c.closed
		c.mu.Unlock()
		if closed {
			return nil, fmt.Errorf("console closed before %q appeared; last lines:\n%s", pattern, c.tail(15))
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w waiting for %q after %s; last lines:\n%s", ErrTimeout, pattern, time.Since(c.start).Round(time.Millisecond), c.tail(15))
		}
	}
}

func (c *Console) tail(n int) string {
	l := c.Lines()
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
