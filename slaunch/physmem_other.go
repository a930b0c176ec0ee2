//go:build !linux

package slaunch

import "fmt"

func readPhys64(dev string, base int64, size int, off uint32) (uint64, error) {
	return 0, fmt.Errorf("reading physical memory is only implemented on Linux")
}
