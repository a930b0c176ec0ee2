// Package crashfs is an in-memory [fsys.FS] that simulates power loss: at
// a crash it keeps only what was made durable. File content survives only
// up to its last fsync; directory entries (creations, renames, removals)
// survive only up to the directory's last fsync, so a rename not followed
// by fsync of the directory may be lost.
//
// Arm a crash point with [FS.CrashAfter]: the n-th mutating operation
// (CreateTemp, Write, Sync, Close, Rename, Remove, SyncDir) fails with
// [ErrCrashed] without taking effect, and so does every call after it,
// until [FS.Crash] "reboots" the file system. With a random source, Crash
// is adversarial within what POSIX allows: for each directory it keeps a
// random prefix of the entry operations not yet made durable (metadata is
// journaled in order), and each file whose data was not synced comes back
// with its synced content, its unsynced content, or a torn prefix of it.
package crashfs

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/slkit/slkit/efi/fsys"
)

// ErrCrashed is returned by every call from the crash point until Crash.
var ErrCrashed = errkind.New(errkind.IO, "crashfs: simulated power loss")

type inode struct {
	data, synced []byte
	dirty        bool // written since the last fsync
}

type dirOp struct {
	rename   bool
	from, to string // create: to = name; remove: from = name; rename: both
	ino      int
}

// FS is the crash-simulating file system.
type FS struct {
	mu      sync.Mutex
	inodes  map[int]*inode
	live    map[string]int // what a process sees
	durable map[string]int // what survives a crash
	pending map[string][]dirOp
	nextIno int
	nextTmp int
	ops     int
	crashAt int // 0: never
	crashed bool
}

var _ fsys.FS = (*FS)(nil)

// New returns an empty file system.
func New() *FS {
	return &FS{inodes: map[int]*inode{}, live: map[string]int{}, durable: map[string]int{}, pending: map[string][]dirOp{}}
}

// Put creates a durable file (a fixture).
func (c *FS) Put(name string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextIno++
	c.inodes[c.nextIno] = &inode{data: clone(data), synced: clone(data)}
	c.live[name] = c.nextIno
	c.durable[name] = c.nextIno
}

// Ops counts the mutating operations so far (crash points passed).
func (c *FS) Ops() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops
}

// CrashAfter arms a crash at the n-th mutating operation from now (1 is
// the next one); 0 disarms.
func (c *FS) CrashAfter(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == 0 {
		c.crashAt = 0
		return
	}
	c.crashAt = c.ops + n
}

// Crashed reports whether the armed crash point was reached.
func (c *FS) Crashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

// Crash simulates power loss and reboot. With r nil only durable state
// survives; with r, a random choice among the states POSIX allows (see the
// package documentation).
func (c *FS) Crash(r *rand.Rand) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dirs := make([]string, 0, len(c.pending))
	for d := range c.pending {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs) // map order must not leak into a seeded run
	for _, d := range dirs {
		ops := c.pending[d]
		k := 0
		if r != nil {
			k = r.IntN(len(ops) + 1)
		}
		for _, op := range ops[:k] {
			apply(c.durable, op)
		}
	}
	c.pending = map[string][]dirOp{}
	c.live = map[string]int{}
	names := make([]string, 0, len(c.durable))
	for n := range c.durable {
		names = append(names, n)
	}
	sort.Strings(names)
	keep := map[int]*inode{}
	for _, n := range names {
		id := c.durable[n]
		c.live[n] = id
		ino := c.inodes[id]
		if keep[id] != nil {
			continue
		}
		data := ino.synced
		if ino.dirty && r != nil {
			switch r.IntN(3) {
			case 1:
				data = ino.data
			case 2:
				data = ino.data[:r.IntN(len(ino.data)+1)]
			}
		}
		keep[id] = &inode{data: clone(data), synced: clone(data)}
	}
	c.inodes = keep
	c.crashed = false
	c.crashAt = 0
}

func apply(m map[string]int, op dirOp) {
	switch {
	case op.rename:
		if id, ok := m[op.from]; ok {
			m[op.to] = id
			delete(m, op.from)
		}
	case op.to != "":
		m[op.to] = op.ino
	default:
		delete(m, op.from)
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// step counts a mutating operation; it fails at and after the crash point.
func (c *FS) step() error {
	if c.crashed {
		return ErrCrashed
	}
	c.ops++
	if c.crashAt != 0 && c.ops >= c.crashAt {
		c.crashed = true
		return ErrCrashed
	}
	return nil
}

func (c *FS) ReadFile(name string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return nil, ErrCrashed
	}
	id, ok := c.live[filepath.Clean(name)]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	}
	return clone(c.inodes[id].data), nil
}

// ReadLimit is ReadFile for a file of at most limit bytes (the disk
// holds only regular files).
func (c *FS) ReadLimit(name string, limit int64) ([]byte, error) {
	b, err := c.ReadFile(name)
	if err == nil && int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: %d bytes, at most %d", name, fsys.ErrTooLarge, len(b), limit)
	}
	return b, err
}

func (c *FS) ReadDir(dir string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return nil, ErrCrashed
	}
	dir = filepath.Clean(dir)
	var out []string
	for n := range c.live {
		if filepath.Dir(n) == dir {
			out = append(out, filepath.Base(n))
		}
	}
	sort.Strings(out)
	return out, nil
}

func (c *FS) CreateTemp(dir, pattern string) (fsys.File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return nil, err
	}
	c.nextTmp++
	base := strings.Replace(pattern, "*", fmt.Sprint(c.nextTmp), 1)
	if !strings.Contains(pattern, "*") {
		base = pattern + fmt.Sprint(c.nextTmp)
	}
	name := filepath.Join(filepath.Clean(dir), base)
	c.nextIno++
	c.inodes[c.nextIno] = &inode{}
	c.live[name] = c.nextIno
	d := filepath.Dir(name)
	c.pending[d] = append(c.pending[d], dirOp{to: name, ino: c.nextIno})
	return &file{c: c, name: name, ino: c.nextIno}, nil
}

func (c *FS) Rename(oldpath, newpath string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return err
	}
	oldpath, newpath = filepath.Clean(oldpath), filepath.Clean(newpath)
	if filepath.Dir(oldpath) != filepath.Dir(newpath) {
		return &fs.PathError{Op: "rename", Path: newpath, Err: syscall.EXDEV}
	}
	id, ok := c.live[oldpath]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldpath, Err: syscall.ENOENT}
	}
	c.live[newpath] = id
	delete(c.live, oldpath)
	d := filepath.Dir(oldpath)
	c.pending[d] = append(c.pending[d], dirOp{rename: true, from: oldpath, to: newpath})
	return nil
}

func (c *FS) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return err
	}
	name = filepath.Clean(name)
	if _, ok := c.live[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: syscall.ENOENT}
	}
	delete(c.live, name)
	d := filepath.Dir(name)
	c.pending[d] = append(c.pending[d], dirOp{from: name})
	return nil
}

func (c *FS) SyncDir(dir string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.step(); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	for _, op := range c.pending[dir] {
		apply(c.durable, op)
	}
	delete(c.pending, dir)
	return nil
}

type file struct {
	c      *FS
	name   string
	ino    int
	closed bool
}

func (f *file) Name() string { return f.name }

func (f *file) Write(p []byte) (int, error) {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if err := f.c.step(); err != nil {
		return 0, err
	}
	if f.closed {
		return 0, fs.ErrClosed
	}
	ino := f.c.inodes[f.ino]
	ino.data = append(ino.data, p...)
	ino.dirty = true
	return len(p), nil
}

func (f *file) Sync() error {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if err := f.c.step(); err != nil {
		return err
	}
	ino := f.c.inodes[f.ino]
	ino.synced = clone(ino.data)
	ino.dirty = false
	return nil
}

func (f *file) Close() error {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if err := f.c.step(); err != nil {
		return err
	}
	f.closed = true
	return nil
}
