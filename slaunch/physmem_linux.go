package slaunch

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// readPhys64 maps size bytes of physical memory at base through the memory
// device dev and reads the aligned 64-bit register at off with one 8-byte
// load, as MMIO registers want (tboot utils/txt-stat.c maps /dev/mem the
// same way).
func readPhys64(dev string, base int64, size int, off uint32) (uint64, error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), base, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("map %s at %#x: %w", dev, base, err)
	}
	defer syscall.Munmap(m)
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&m[off]))), nil
}
