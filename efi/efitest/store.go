// Package efitest is an efivarfs-faithful fake of [efi.Backend] for tests:
// the kernel's efivarfs file semantics (fs/efivarfs) over a model of an
// edk2/OVMF variable store (MdeModulePkg Variable and AuthVariableLib), so
// that code which works against it works against a real mount.
//
// What it models, and where from:
//
//   - whole-value replacement: each write(2) is one SetVariable with the
//     4-byte attribute prefix; the file offset is ignored; O_TRUNC only
//     zeroes the inode size (a stat-size reader then reads nothing) and
//     leaves the variable alone.
//   - reads until EOF: each read fetches the variable again.
//   - immutable files: every file not on the kernel's list is created
//     immutable; open for write and unlink then fail with EPERM until
//     FS_IOC_SETFLAGS clears the flag (only FS_IMMUTABLE_FL is supported).
//   - names: the firmware name of a new file is one CHAR16 per byte of the
//     file name (efivarfs_create), a firmware name is listed as UTF-8 with
//     '/' as '!' (efivarfs_callback), and a file name longer than NAME_MAX
//     (255 bytes) is ENAMETOOLONG.
//   - phantom files: open(O_CREAT) makes a zero-length file that exists
//     until a write creates the variable; it reads as empty, cannot be
//     unlinked (EINVAL, as efivar_entry_delete fails) and is gone after a
//     [Store.Reboot].
//   - the kernel's write-time checks ([efi.ValidateKernel]): EINVAL.
//   - a per-variable size limit: header + UTF-16 name + data above
//     PcdMaxVariableSize (0x8400 on OVMF, about 33.7 KB of data) is EINVAL.
//   - a store quota: every write consumes a new record; deleted and
//     replaced records are reclaimed only at [Store.Reboot]; a write that
//     would leave less than the 5 KiB x86 reserve is ENOSPC.
//   - read-only variables (SecureBoot, SetupMode, BootCurrent, ...): EROFS.
//   - time-based authenticated writes (EFI_VARIABLE_AUTHENTICATION_2):
//     a replace needs a timestamp newer than the stored one (a replayed
//     write is EACCES); an append keeps the newer timestamp and, for
//     signature databases, drops signatures already present, so a replayed
//     append changes nothing. The PKCS#7 signature itself is accepted
//     unless [WithAuthVerifier] says otherwise.
//   - injected failures ([Store.FailNext]): EIO, EINTR, ... per variable.
package efitest

import (
	"sort"
	"sync"
	"syscall"

	"github.com/slkit/slkit/efi"
)

// Defaults for an OVMF 4M variable store.
const (
	// DefaultCapacity is the 256 KiB variable region less the firmware
	// volume header (0x48) and VARIABLE_STORE_HEADER (0x1c).
	DefaultCapacity = 256<<10 - 0x48 - 0x1c
	// DefaultReserve is EFI_MIN_RESERVE, the space Linux on x86 keeps
	// free (arch/x86/platform/efi/quirks.c).
	DefaultReserve = 5 << 10
	// DefaultMaxVariableSize is OVMF's PcdMaxVariableSize.
	DefaultMaxVariableSize = 0x8400
)

// Store is the fake: an efivarfs mount over a simulated NVRAM.
type Store struct {
	mu       sync.Mutex
	cfg      config
	vars     map[string]*variable // NVRAM: live variables by file name
	files    map[string]*inode    // efivarfs dentries
	used     int                  // bytes of records written since the last reclaim
	faults   map[string][]syscall.Errno
	sets     int // SetVariable calls that changed NVRAM
	bootNext []byte
}

type variable struct {
	name efi.Name
	attr efi.Attr
	data []byte
	time efi.Time // time-based authenticated variables
}

type inode struct {
	name      efi.Name
	size      int64
	immutable bool
	unlinked  bool
}

type config struct {
	capacity, reserve, maxVar int
	readOnly                  map[efi.Name]bool
	verify                    func(efi.Name, *efi.Auth2) bool
	initial                   []variable
}

// Option configures [New].
type Option func(*config)

// WithCapacity sets the variable store size in bytes.
func WithCapacity(n int) Option { return func(c *config) { c.capacity = n } }

// WithReserve sets the space runtime writes must leave free.
func WithReserve(n int) Option { return func(c *config) { c.reserve = n } }

// WithMaxVariableSize sets the largest record (60-byte header, UTF-16
// name and data).
func WithMaxVariableSize(n int) Option { return func(c *config) { c.maxVar = n } }

// WithVariable stores a variable before the first mount (as if the
// firmware had it).
func WithVariable(n efi.Name, attr efi.Attr, data []byte) Option {
	return func(c *config) {
		c.initial = append(c.initial, variable{name: n, attr: attr, data: append([]byte(nil), data...)})
	}
}

// WithReadOnly marks variables write-protected (EROFS), in addition to
// the defaults (SecureBoot, SetupMode, AuditMode, DeployedMode,
// BootCurrent, OsIndicationsSupported).
func WithReadOnly(n ...efi.Name) Option {
	return func(c *config) {
		for _, x := range n {
			c.readOnly[x] = true
		}
	}
}

// WithAuthVerifier decides whether an authenticated write's signature is
// good (default: every well-formed descriptor is).
func WithAuthVerifier(f func(efi.Name, *efi.Auth2) bool) Option {
	return func(c *config) { c.verify = f }
}

// New returns a freshly booted store.
func New(opts ...Option) *Store {
	c := config{
		capacity: DefaultCapacity, reserve: DefaultReserve, maxVar: DefaultMaxVariableSize,
		readOnly: map[efi.Name]bool{
			efi.SecureBoot: true, efi.SetupMode: true, efi.AuditMode: true,
			efi.DeployedMode: true, efi.BootCurrent: true, efi.OsIndicationsSupported: true,
		},
		verify: func(efi.Name, *efi.Auth2) bool { return true },
	}
	for _, o := range opts {
		o(&c)
	}
	s := &Store{cfg: c, vars: map[string]*variable{}, faults: map[string][]syscall.Errno{}}
	for _, v := range c.initial {
		v := v
		s.vars[v.name.String()] = &v
	}
	s.mount()
	return s
}

// Vars is efi.New over the store.
func (s *Store) Vars(opts ...efi.Option) *efi.Vars { return efi.New(s, opts...) }

// recordSize is the space a variable's record takes in the store,
// 4-byte aligned (HEADER_ALIGN).
func recordSize(n efi.Name, dataLen int) int { return (n.StoredSize(dataLen) + 3) &^ 3 }

// mount rebuilds the dentries as efivarfs does when it is mounted:
// one file per variable, immutable unless on the kernel's list.
func (s *Store) mount() {
	s.files = map[string]*inode{}
	s.used = 0
	for _, v := range s.vars {
		s.files[fileName(v.name)] = &inode{name: v.name, size: int64(4 + len(v.data)), immutable: !efi.KernelMutable(v.name)}
		if v.attr&efi.NonVolatile != 0 {
			s.used += recordSize(v.name, len(v.data))
		}
	}
}

// Reboot simulates a reset: the firmware reclaims the space of deleted
// and replaced records, drops volatile variables, consumes BootNext
// (moving it to BootCurrent, UEFI 2.10 §3.1.2), and efivarfs is mounted
// again (phantom files gone, immutable flags reset).
func (s *Store) Reboot() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, secureBoot := s.vars[efi.SetupMode.String()]
	for k, v := range s.vars {
		if v.attr&efi.NonVolatile == 0 {
			delete(s.vars, k)
		}
	}
	s.bootNext = nil
	if bn, ok := s.vars[efi.BootNext.String()]; ok {
		s.bootNext = bn.data
		delete(s.vars, efi.BootNext.String())
		s.vars[efi.BootCurrent.String()] = &variable{name: efi.BootCurrent, attr: efi.BootserviceAccess | efi.RuntimeAccess, data: bn.data}
	}
	if secureBoot {
		s.secureBootAtBoot()
	}
	s.mount()
}

// ConsumedBootNext is the BootNext value the last Reboot consumed, or nil.
func (s *Store) ConsumedBootNext() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bootNext
}

// Value returns a variable as the firmware holds it, bypassing efivarfs.
func (s *Store) Value(n efi.Name) (efi.Attr, []byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vars[n.String()]
	if !ok {
		return 0, nil, false
	}
	return v.attr, append([]byte(nil), v.data...), true
}

// Put stores a variable firmware-side, bypassing all checks and the quota
// (a fixture), and gives it a file as a mount would.
func (s *Store) Put(n efi.Name, attr efi.Attr, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vars[n.String()] = &variable{name: n, attr: attr, data: append([]byte(nil), data...)}
	f := fileName(n)
	if s.files[f] == nil {
		s.files[f] = &inode{name: n, immutable: !efi.KernelMutable(n)}
	}
	s.files[f].size = int64(4 + len(data))
}

// Names lists the variables the firmware holds, sorted.
func (s *Store) Names() []efi.Name {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]efi.Name, 0, len(s.vars))
	for _, v := range s.vars {
		out = append(out, v.name)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Used is the store space consumed since the last reclaim; Free is what a
// runtime write may still use.
func (s *Store) Used() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// Free is the space left for runtime writes (capacity less reserve less used).
func (s *Store) Free() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.capacity - s.cfg.reserve - s.used
}

// Sets counts the SetVariable calls that changed the store.
func (s *Store) Sets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sets
}

// FailNext makes the next SetVariable calls on n fail with errs, in
// order (EIO for DEVICE_ERROR, EINTR for ABORTED, ...), before they
// change anything.
func (s *Store) FailNext(n efi.Name, errs ...syscall.Errno) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[n.String()] = append(s.faults[n.String()], errs...)
}
