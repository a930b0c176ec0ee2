package pid1

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// errLine passes the run command's stderr through to the console and
// keeps its last error line: slkit prints exactly one line "slkit: MSG"
// when a command fails, after any phase markers, and that MSG becomes the
// reason PID 1 reports.
type errLine struct {
	mu   sync.Mutex
	w    io.Writer
	part []byte
	last string
}

func (e *errLine) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.part = append(e.part, p...)
	for {
		i := bytes.IndexByte(e.part, '\n')
		if i < 0 {
			break
		}
		e.line(string(e.part[:i]))
		e.part = e.part[i+1:]
	}
	// Keep a bounded tail of a line that never ends.
	if len(e.part) > 4096 {
		e.part = e.part[len(e.part)-4096:]
	}
	return e.w.Write(p)
}

func (e *errLine) line(l string) {
	msg, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "slkit: ")
	if !ok || strings.HasPrefix(msg, "phase=") || strings.HasPrefix(msg, "result=") {
		return
	}
	e.last = msg
}

// Last returns the last error line, or "" if there was none.
func (e *errLine) Last() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.part) > 0 {
		e.line(string(e.part))
		e.part = nil
	}
	return e.last
}
