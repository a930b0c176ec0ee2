//go:build !amd64

package slaunch

import (
	"fmt"
	"runtime"
)

func hostCPUID(leaf, subleaf uint32) (CPUIDResult, error) {
	return CPUIDResult{}, fmt.Errorf("CPUID %#x: not an x86-64 CPU (%s)", leaf, runtime.GOARCH)
}
